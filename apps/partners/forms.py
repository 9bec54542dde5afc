from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DataCategory, SharingPartner


class PartnerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.SlugField(label=_("Partner id (what it sends us)"), max_length=64)
    endpoint_url = forms.URLField(label=_("Endpoint base URL"), max_length=300)
    our_id_at_partner = forms.CharField(label=_("Our id at the partner"), max_length=200)
    research_focus = forms.CharField(label=_("Research focus"), max_length=1000,
                                     help_text=_("ICD-10 prefixes (E75), ranges (E70-E90), categories or *, "
                                                 "comma-separated."))
    data_categories = forms.MultipleChoiceField(label=_("Data categories accepted"), choices=DataCategory.choices,
                                                widget=forms.CheckboxSelectMultiple,
                                                initial=[DataCategory.CONDITION])
    protocols = forms.CharField(label=_("Protocols"), max_length=200, initial="hp-share/1")
    interconnected = forms.BooleanField(label=_("Interconnected"), required=False)
    hmac_key = forms.CharField(label=_("Signing key"), max_length=200, required=False,
                               help_text=_("Leave empty to generate one; it is shown once."))


class PartnerEditForm(PartnerForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]
        del self.fields["hmac_key"]
        self.fields["our_id_at_partner"].required = False
        self.fields["our_id_at_partner"].help_text = _("Leave empty to keep the current one.")


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=SharingPartner.Status.choices)
    note = forms.CharField(max_length=300, required=False)


class ReviewForm(forms.Form):
    note = forms.CharField(max_length=500, required=False)
