import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.configuration.services import setting_set
from apps.patients.services import patient_create
from apps.reports.analysis import ReportAnalysis
from apps.reports.models import LabReport
from apps.reports.services import lab_report_begin, lab_report_store_analysis, lab_report_submit
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from ml.labreport.types import ExtractedItem, Interpretation, Statement
from tests.factories import member_of
from tests.support.upload_files import report_jpeg, report_photo

REPORTS_URL = "/api/v1/reports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test its own media folder, so "nothing was written" can be checked."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def stored_files(media_root) -> list:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


@pytest.fixture
def patient_user(hospital_a):
    return member_of(hospital_a, Role.PATIENT)


@pytest.fixture
def patient_a(hospital_a, patient_user):
    return patient_create(hospital_id=hospital_a.pk, name="张三", sex="M", user=patient_user)


@pytest.fixture
def patient_b(hospital_b):
    return patient_create(hospital_id=hospital_b.pk, name="李四")


def upload_file(data: bytes | None = None, name: str = "report.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, report_jpeg() if data is None else data, content_type=content_type)


def submit(patient, actor, role=Role.DOCTOR, data: bytes | None = None) -> LabReport:
    with tenant_context(patient.hospital_id):
        return lab_report_submit(patient=patient, data=report_jpeg() if data is None else data, actor=actor,
                                 role=role)


def analysis_from_truth(seed: int = 1) -> ReportAnalysis:
    """What a perfect reading of a synthetic report would give: its exact ground truth."""
    _image, truth = report_photo(seed)
    items = [ExtractedItem(code=item["code"], name=item["name"], value=item["value"], value_text=str(item["value"]),
                           unit=item["unit"], range_low=item["range_low"], range_high=item["range_high"],
                           range_source="printed", flag=item["flag"] or "N", confidence=0.99)
             for item in truth["items"]]
    abnormal = [item for item in items if item.flag in ("H", "L")]
    interpretation = Interpretation(
        abnormal=[Statement(text_zh=f"{item.name}偏{'高' if item.flag == 'H' else '低'}",
                            text_en=f"{item.code} is {'high' if item.flag == 'H' else 'low'}", codes=[item.code])
                  for item in abnormal],
        conclusion=Statement(text_zh="部分指标异常", text_en="Some results are outside their ranges",
                             codes=[item.code for item in abnormal]),
        advice=[], urgency="soon", model_version="truth-fixture")
    return ReportAnalysis(items=items, interpretation=interpretation, rotation=0, engine="tesseract",
                          engine_version="5.3.0", page_count=1, pages_analysed=1, timings_ms={"total_ms": 1.0})


def make_preliminary(patient, actor, role=Role.DOCTOR, seed: int = 1) -> LabReport:
    """A report taken through the real service steps, with the truth as its analysis."""
    report = submit(patient, actor, role)
    with tenant_context(patient.hospital_id):
        job = lab_report_begin(report_id=report.pk, attempt=report.attempt)
        return lab_report_store_analysis(report_id=job.report_id, attempt=job.attempt, result=analysis_from_truth(seed))


def set_hospital_setting(hospital, key, value):
    admin = member_of(hospital, Role.HOSPITAL_ADMIN)
    setting_set(key=key, value=value, actor=admin, role=Role.HOSPITAL_ADMIN, hospital_id=hospital.pk)
