from django import forms
from django.utils.translation import gettext_lazy as _

from apps.tenancy.models import Department

from .models import Expert, Schedule


class ExpertForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    title = forms.ChoiceField(label=_("Title"), choices=Expert.Title.choices)
    specialties = forms.CharField(label=_("Specialties"), max_length=500, required=False,
                                  help_text=_("Separate with commas, e.g. 高血压, 冠心病"))
    introduction = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.all()


class ScheduleForm(forms.Form):
    expert = forms.ModelChoiceField(label=_("Expert"), queryset=Expert.objects.none())
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(label=_("Session period"), choices=Schedule.Period.choices)
    start_time = forms.TimeField(label=_("Start time"), required=False, widget=forms.TimeInput(attrs={"type": "time"}),
                                 help_text=_("Only for a time window; half-days use their usual hours."))
    end_time = forms.TimeField(label=_("End time"), required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    slot_minutes = forms.IntegerField(label=_("Minutes per slot"), min_value=5, max_value=240, initial=30)
    capacity = forms.IntegerField(label=_("Patients per slot"), min_value=1, max_value=500, initial=5)
    publish = forms.BooleanField(label=_("Publish now"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expert"].queryset = Expert.objects.filter(active=True).select_related("department")


class StopForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=500)


class VoucherForm(forms.Form):
    voucher = forms.CharField(label=_("Voucher code or scanned QR"), max_length=64)


def add_service_error(form: forms.Form, error) -> None:
    """Show a service's refusal on the field it names, else on the form."""
    placed = False
    for field, messages in (error.fields or {}).items():
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)
