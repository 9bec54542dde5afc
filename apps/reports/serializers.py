from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .errors import failure_message
from .models import LabItem, LabReport, ReportInterpretation, SignOff


class LabItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabItem
        fields = ["id", "position", "code", "name", "value", "value_text", "unit", "range_low", "range_high",
                  "range_source", "flag", "confidence"]


class InterpretationSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportInterpretation
        fields = ["content", "urgency", "model_version", "created_at"]


class SignOffSerializer(serializers.ModelSerializer):
    signed_by = serializers.CharField(source="signed_by.get_username", read_only=True)

    class Meta:
        model = SignOff
        fields = ["signed_by", "signed_at", "edits", "comment"]


class LabReportListSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.name", read_only=True)
    flags_count = serializers.IntegerField(read_only=True, default=None)
    failure_message = serializers.SerializerMethodField()

    class Meta:
        model = LabReport
        fields = ["id", "patient", "patient_name", "status", "failure_code", "failure_message", "content_type",
                  "size", "page_count", "engine", "flags_count", "created_at", "analysed_at"]

    def get_failure_message(self, report) -> str:
        return failure_message(report.failure_code) if report.failure_code else ""


class LabReportDetailSerializer(LabReportListSerializer):
    """One report with its results. `context["hide_content"]` withholds the results
    from a patient who may not see them yet (they still follow the status)."""

    items = serializers.SerializerMethodField()
    interpretation = serializers.SerializerMethodField()
    sign_off = serializers.SerializerMethodField()
    content_visible = serializers.SerializerMethodField()

    class Meta(LabReportListSerializer.Meta):
        fields = LabReportListSerializer.Meta.fields + [
            "sha256", "rotation", "pages_analysed", "engine_version", "model_versions", "timings_ms", "warnings",
            "content_visible", "items", "interpretation", "sign_off"]

    def _hidden(self) -> bool:
        return bool(self.context.get("hide_content"))

    def get_content_visible(self, report) -> bool:
        return not self._hidden()

    def get_items(self, report) -> list:
        return [] if self._hidden() else LabItemSerializer(report.items.all(), many=True).data

    def get_interpretation(self, report) -> dict | None:
        interpretation = ReportInterpretation.objects.filter(report=report).first()
        return None if self._hidden() or interpretation is None else InterpretationSerializer(interpretation).data

    def get_sign_off(self, report) -> dict | None:
        sign_off = SignOff.objects.filter(report=report).select_related("signed_by").first()
        return None if sign_off is None else SignOffSerializer(sign_off).data

    def get_flags_count(self, report) -> int:
        return sum(1 for item in report.items.all() if item.flag in ("H", "L"))

    def to_representation(self, report):
        data = super().to_representation(report)
        if self._hidden():
            data["flags_count"] = None
        elif data.get("flags_count") is None:
            data["flags_count"] = self.get_flags_count(report)
        return data


class LabReportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False)
    patient = serializers.IntegerField(required=False, min_value=1,
                                       help_text=_("The patient's id (staff); patients upload for themselves."))


class ItemEditSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    value = serializers.FloatField(required=False, allow_null=True)
    value_text = serializers.CharField(required=False, max_length=64, allow_blank=True)
    unit = serializers.CharField(required=False, max_length=32, allow_blank=True)
    range_low = serializers.FloatField(required=False, allow_null=True)
    range_high = serializers.FloatField(required=False, allow_null=True)
    flag = serializers.ChoiceField(required=False, choices=LabItem.Flag.choices, allow_blank=True)


class ConclusionEditSerializer(serializers.Serializer):
    text_zh = serializers.CharField(required=False, max_length=2000)
    text_en = serializers.CharField(required=False, max_length=2000)


class SignOffInputSerializer(serializers.Serializer):
    items = ItemEditSerializer(many=True, required=False)
    conclusion = ConclusionEditSerializer(required=False)
    urgency = serializers.ChoiceField(required=False, choices=[("routine", _("routine")), ("soon", _("soon")),
                                                               ("urgent", _("urgent"))])
    comment = serializers.CharField(required=False, max_length=2000, allow_blank=True)
