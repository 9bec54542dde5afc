"""Web admin forms for configuration. They only turn what a browser posts into the
typed arguments the services take; every rule (bounds, roles, scopes, schedules)
is checked by the service, whose refusal the form then shows next to the field."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import IntervalSchedule

from apps.core.exceptions import DomainError
from apps.tenancy.roles import Role

from .models import ModelDeployment
from .periodic import CRONTAB_FIELDS

SCOPE_CHOICES = [("hospital", _("This hospital")), ("platform", _("Platform-wide"))]


def setting_editable(setting: dict, role: str) -> bool:
    """Whether to offer `role` an editor for `setting` (a row of settings_effective).
    Only decides what the page shows: setting_set checks again and has the last word."""
    if role not in setting["editable_by"]:
        return False
    return setting["hospital_may_override"] or role == Role.PLATFORM_ADMIN


def setting_default_scope(setting: dict) -> str:
    return "hospital" if setting["hospital_may_override"] else "platform"


class SettingValueForm(forms.Form):
    """One setting's new value, typed by the setting's declaration. Bounds and choices
    are deliberately not enforced here (nor as HTML attributes) so that the service's
    own message, and its audit of the refusal, is what the administrator gets."""

    scope = forms.ChoiceField(choices=SCOPE_CHOICES, required=False, label=_("Scope"))

    def __init__(self, *args, setting: dict, **kwargs):
        self.setting = setting
        kwargs.setdefault("auto_id", "id_%s_" + setting["key"].replace(".", "-"))
        super().__init__(*args, **kwargs)
        value = setting["value"]
        self.fields["scope"].initial = setting_default_scope(setting)
        kind = setting["type"]
        if kind == "int_range":
            self.fields["low"] = forms.IntegerField(label=_("From"), initial=value[0])
            self.fields["high"] = forms.IntegerField(label=_("To"), initial=value[1])
        elif kind == "int":
            self.fields["value"] = forms.IntegerField(label=_("Value"), initial=value)
        elif kind == "float":
            self.fields["value"] = forms.FloatField(
                label=_("Value"), initial=value, widget=forms.NumberInput(attrs={"step": "any"}))
        elif kind == "bool":
            self.fields["value"] = forms.TypedChoiceField(
                label=_("Value"), choices=[("true", _("Yes")), ("false", _("No"))],
                coerce=lambda raw: raw == "true", initial="true" if value else "false")
        elif kind == "choice":
            # A select offers the declared choices; anything else posted reaches the
            # service, which refuses it with the list of allowed values.
            self.fields["value"] = forms.CharField(
                label=_("Value"), initial=value, widget=forms.Select(choices=[(c, c) for c in setting["choices"]]))
        elif kind == "time":
            self.fields["value"] = forms.TimeField(
                label=_("Value"), initial=value, input_formats=["%H:%M"],
                widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
        else:
            self.fields["value"] = forms.CharField(label=_("Value"), initial=value, required=False, strip=False)

    @property
    def value_fields(self) -> list:
        return [self[name] for name in ("value", "low", "high") if name in self.fields]

    def scope_value(self) -> str:
        return self.cleaned_data.get("scope") or setting_default_scope(self.setting)

    def typed_value(self):
        """The value as setting_set expects it (the declaration's JSON type)."""
        if self.setting["type"] == "int_range":
            return [self.cleaned_data["low"], self.cleaned_data["high"]]
        if self.setting["type"] == "time":
            return self.cleaned_data["value"].strftime("%H:%M")
        return self.cleaned_data["value"]

    def add_service_error(self, error: DomainError) -> None:
        value_errors = error.fields.get("value")
        if value_errors and "value" in self.fields:
            self.add_error("value", value_errors)
        else:
            self.add_error(None, value_errors or error.message)


class ImplementationForm(forms.Form):
    implementation = forms.CharField(max_length=120, label=_("Implementation"))


class ModelActivateForm(forms.Form):
    """Which registered model to put into service, and how. The select lists the task's
    own models; the id is not limited to them here, model_activate checks the task."""

    artifact = forms.IntegerField(min_value=1, label=_("Model"))
    mode = forms.ChoiceField(choices=[(ModelDeployment.Mode.ACTIVE, _("Active")),
                                      (ModelDeployment.Mode.SHADOW, _("Shadow"))], label=_("Mode"))

    def __init__(self, *args, artifacts=(), prefix_id: str = "", **kwargs):
        kwargs.setdefault("auto_id", "id_%s_" + prefix_id)
        super().__init__(*args, **kwargs)
        self.fields["artifact"].widget = forms.Select(
            choices=[(artifact.pk, f"{artifact.name} {artifact.version}") for artifact in artifacts])


class PeriodicTaskForm(forms.Form):
    """A beat job as a form: crontab fields or an interval, JSON keyword arguments."""

    name = forms.CharField(max_length=200, required=False, label=_("Name"))
    task = forms.CharField(max_length=200, label=_("Task"))
    enabled = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    schedule = forms.ChoiceField(choices=[("crontab", _("Crontab")), ("interval", _("Interval"))],
                                 initial="crontab", widget=forms.RadioSelect, label=_("Schedule"))
    minute = forms.CharField(max_length=240, required=False, initial="*", label=_("Minute"))
    hour = forms.CharField(max_length=96, required=False, initial="*", label=_("Hour"))
    day_of_week = forms.CharField(max_length=64, required=False, initial="*", label=_("Day of week"))
    day_of_month = forms.CharField(max_length=124, required=False, initial="*", label=_("Day of month"))
    month_of_year = forms.CharField(max_length=64, required=False, initial="*", label=_("Month of year"))
    every = forms.IntegerField(required=False, label=_("Every"))
    period = forms.ChoiceField(choices=IntervalSchedule.PERIOD_CHOICES, required=False,
                               initial=IntervalSchedule.MINUTES, label=_("Period"))
    kwargs = forms.JSONField(required=False, initial=dict, label=_("Keyword arguments (JSON)"),
                             widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        # The service reports crontab and interval problems for the schedule as a whole.
        self.schedule_errors: dict[str, list[str]] = {}
        if not creating:
            del self.fields["name"]

    @staticmethod
    def initial_for(job) -> dict:
        initial = {"task": job.task, "enabled": job.enabled, "kwargs": json.loads(job.kwargs or "{}")}
        if job.interval_id:
            initial.update(schedule="interval", every=job.interval.every, period=job.interval.period)
        elif job.crontab_id:
            initial.update(schedule="crontab", **{field: getattr(job.crontab, field) for field in CRONTAB_FIELDS})
        return initial

    @property
    def crontab_fields(self) -> list:
        # In the order a crontab line reads, as the job list shows it.
        return [self[field] for field in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")]

    def service_arguments(self) -> dict:
        """Keyword arguments for periodic_task_save."""
        data = self.cleaned_data
        arguments = {"task": data["task"].strip(), "enabled": data["enabled"],
                     "kwargs": data["kwargs"] if data["kwargs"] is not None else {}}
        if self.creating:
            arguments["name"] = data["name"].strip()
        if data["schedule"] == "interval":
            arguments["interval"] = {"every": data["every"], "period": data["period"]}
        else:
            arguments["crontab"] = {field: data[field] for field in CRONTAB_FIELDS}
        return arguments

    def add_service_error(self, error: DomainError) -> None:
        if not error.fields:
            self.add_error(None, error.message)
        for field, field_messages in error.fields.items():
            # Some refusals list the offending value under the field rather than a
            # sentence (a duplicate name); the message says what to do then.
            field_messages = list(field_messages) if error.message in field_messages else [error.message]
            if field in ("crontab", "interval"):
                self.schedule_errors[field] = field_messages
            elif field in self.fields:
                self.add_error(field, field_messages)
            else:
                self.add_error(None, field_messages)
