from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LabItem

URGENCY_CHOICES = [("routine", _("routine")), ("soon", _("soon")), ("urgent", _("urgent"))]


class UploadForm(forms.Form):
    medical_record_number = forms.CharField(label=_("Medical record number"), max_length=32)
    file = forms.FileField(label=_("Report photo or PDF"),
                           widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}))


class SignOffForm(forms.Form):
    """One value and flag field per item, the conclusion in both languages, urgency and
    a comment. `edits()` turns what changed into the sign-off service's arguments."""

    conclusion_zh = forms.CharField(label=_("Conclusion (Chinese)"), widget=forms.Textarea(attrs={"rows": 2}),
                                    required=False, max_length=2000)
    conclusion_en = forms.CharField(label=_("Conclusion (English)"), widget=forms.Textarea(attrs={"rows": 2}),
                                    required=False, max_length=2000)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=URGENCY_CHOICES)
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              max_length=2000)

    def __init__(self, *args, items, interpretation, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        self.interpretation = interpretation
        conclusion = interpretation.content.get("conclusion", {}) if interpretation else {}
        self.fields["conclusion_zh"].initial = conclusion.get("text_zh", "")
        self.fields["conclusion_en"].initial = conclusion.get("text_en", "")
        self.fields["urgency"].initial = interpretation.urgency if interpretation else "routine"
        for item in items:
            self.fields[f"item_{item.pk}_value"] = forms.FloatField(
                label=item.code, required=False, initial=item.value,
                widget=forms.NumberInput(attrs={"step": "any", "class": "value-input"}))
            self.fields[f"item_{item.pk}_flag"] = forms.ChoiceField(
                label=_("flag"), choices=LabItem.Flag.choices, required=False, initial=item.flag)

    def rows(self):
        """(item, value field, flag field) for the template's table."""
        return [(item, self[f"item_{item.pk}_value"], self[f"item_{item.pk}_flag"]) for item in self.items]

    def edits(self) -> dict:
        data = self.cleaned_data
        changed_items = []
        for item in self.items:
            value, flag = data.get(f"item_{item.pk}_value"), data.get(f"item_{item.pk}_flag") or ""
            edit = {}
            if value != item.value:
                edit["value"] = value
            if flag != item.flag:
                edit["flag"] = flag
            if edit:
                changed_items.append({"id": item.pk, **edit})
        conclusion = {}
        for field, key in (("conclusion_zh", "text_zh"), ("conclusion_en", "text_en")):
            if data[field] and data[field] != self.fields[field].initial:
                conclusion[key] = data[field]
        return {"items": changed_items, "conclusion": conclusion, "urgency": data["urgency"],
                "comment": data.get("comment", "")}
