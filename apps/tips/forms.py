from django import forms
from django.utils.translation import gettext_lazy as _

from apps.webadmin.forms import ServiceErrorsMixin

from .models import Tip


class TipForm(ServiceErrorsMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    category = forms.ChoiceField(label=_("Category"), choices=Tip.Category.choices)
    summary = forms.CharField(label=_("Summary"), max_length=300, required=False)
    body_html = forms.CharField(label=_("Text (HTML)"), widget=forms.Textarea(attrs={"rows": 14}),
                                help_text=_("Paragraphs, headings, lists, links and images. Scripts are refused; "
                                            "other markup is cleaned on save."))
    image = forms.FileField(label=_("Add an image"), required=False,
                            help_text=_("JPEG, PNG, WebP or GIF; resized and compressed on upload, added at the end."))
    published = forms.BooleanField(label=_("Published"), required=False)
