from django import forms
from django.utils.translation import gettext_lazy as _

from apps.webadmin.forms import ServiceErrorsMixin

from .models import MedicationPlan


class PlanForm(ServiceErrorsMixin, forms.Form):
    drug_name = forms.CharField(label=_("Drug"), max_length=100)
    dose = forms.CharField(label=_("Dose"), max_length=50, help_text=_("For example: 1 tablet, 5 ml."))
    times = forms.CharField(label=_("Times of day"), max_length=200,
                            help_text=_("HH:MM, separated by commas, for example 08:00, 20:00 (China Standard Time)."))
    kind = forms.ChoiceField(label=_("Kind"), choices=MedicationPlan.Kind.choices, initial=MedicationPlan.Kind.RECURRING)
    start_date = forms.DateField(label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False,
                            help_text=_("For example: on an empty stomach; half an hour after meals."))
    source = forms.ChoiceField(label=_("Source"), choices=MedicationPlan.Source.choices,
                               initial=MedicationPlan.Source.PRESCRIPTION)
    prescription_reference = forms.CharField(label=_("Prescription reference"), max_length=64, required=False)
    units_per_dose = forms.IntegerField(label=_("Units per dose"), min_value=1, max_value=100, initial=1)
    supply_remaining = forms.IntegerField(label=_("Units dispensed"), min_value=0, max_value=100_000, required=False)

    def service_arguments(self) -> dict:
        values = dict(self.cleaned_data)
        values["times"] = [part.strip() for part in values["times"].replace("，", ",").split(",") if part.strip()]
        return values
