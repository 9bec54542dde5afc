"""The provider registry: another app plugs in a signal (here the way the lab reports
app will: abnormal indicators) and its reason is what the patient sees."""

import pytest

from apps.tips import providers
from apps.tips.tagging import tags_for_indicator

from .conftest import a_tip


@pytest.fixture
def lab_provider():
    @providers.register_provider("test_lab_abnormal")
    def lab_abnormal(patient):
        for code, flag in [("HGB", "L")]:
            for tag in tags_for_indicator(code):
                yield tag, f"because your {code} reading was {'low' if flag == 'L' else 'high'}"

    yield lab_abnormal
    providers._PROVIDERS.pop("test_lab_abnormal")


def test_a_registered_provider_drives_recommendations(lab_provider, patient_a, hospital_a):
    hgb = a_tip(hospital_a, "血红蛋白偏低怎么办", "<p>血红蛋白低常见于缺铁</p>")
    a_tip(hospital_a, "睡眠", "<p>规律作息</p>")

    rows = patient_a.client.get("/api/v1/tips/recommended/", {"limit": 1}).json()

    assert rows[0]["tip"]["id"] == hgb.pk
    assert rows[0]["reason"] == "because your HGB reading was low"


def test_a_failing_provider_is_skipped(patient_a, hospital_a):
    @providers.register_provider("test_broken")
    def broken(patient):
        raise RuntimeError("lab service down")

    try:
        a_tip(hospital_a, "一", "<p>一</p>")
        response = patient_a.client.get("/api/v1/tips/recommended/")
    finally:
        providers._PROVIDERS.pop("test_broken")

    assert response.status_code == 200
    assert [row["source"] for row in response.json()] == ["popular"]
