import pytest

from apps.compliance.consent import ConsentRequiredError, consent_check, consent_record, consent_require, consent_withdrawn
from apps.compliance.deidentify import (deidentify_record, deidentify_records, identifier_spans, k_anonymity,
                                        mask_text, national_id_valid, register_text_masker, _maskers)
from apps.core.exceptions import DomainError, NotFoundError
from apps.patients.services import patient_create
from apps.privacy.models import AuditEvent
from apps.tenancy.context import tenant_context

VALID_ID = "11010519491231002X"


def test_research_needs_an_explicit_grant_and_care_is_presumed(hospital_a, patient_a):
    with tenant_context(hospital_a.pk):
        assert consent_check(patient_a, "research") is False
        assert consent_check(patient_a, "care") is True


def test_a_withdrawal_after_a_grant_stops_consent_and_signals(hospital_a, patient_a, django_capture_on_commit_callbacks):
    heard = []
    receiver = lambda **kwargs: heard.append((kwargs["patient_id"], kwargs["purpose"]))  # noqa: E731
    consent_withdrawn.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            consent_record(hospital_id=hospital_a.pk, patient_id=patient_a.pk, purpose="partner_sharing",
                           decision="granted", channel="wechat")
            consent_record(hospital_id=hospital_a.pk, patient_id=patient_a.pk, purpose="partner_sharing",
                           decision="withdrawn", channel="wechat")
    finally:
        consent_withdrawn.disconnect(receiver)
    with tenant_context(hospital_a.pk):
        assert consent_check(patient_a, "partner_sharing") is False
    assert heard == [(patient_a.pk, "partner_sharing")]
    assert AuditEvent.objects.filter(action="compliance.consent_withdrawn", patient_id=patient_a.pk).count() == 1


def test_consent_for_another_hospitals_patient_is_refused(hospital_a, hospital_b):
    patient_b = patient_create(hospital_id=hospital_b.pk, name="李四")
    with pytest.raises(NotFoundError) as error:
        consent_record(hospital_id=hospital_a.pk, patient_id=patient_b.pk, purpose="research", decision="granted",
                       channel="paper")
    assert error.value.code == "patient_not_found"


def test_consent_require_names_the_patients_missing_consent(hospital_a, patient_a):
    with tenant_context(hospital_a.pk), pytest.raises(ConsentRequiredError) as error:
        consent_require([patient_a], "model_training")
    assert (error.value.code, error.value.fields["patients"]) == ("consent_required", [str(patient_a.pk)])


def test_the_gb11643_check_digit_is_verified():
    assert national_id_valid(VALID_ID)
    assert not national_id_valid("110105194912310021")


def test_the_recogniser_masks_ids_phones_and_addresses_but_not_sample_numbers():
    text = f"患者身份证{VALID_ID}，电话13812345678，住北京市朝阳区建国路88号，样本号110105194912310021。"
    masked = mask_text(text)
    assert VALID_ID not in masked and "13812345678" not in masked and "建国路88号" not in masked
    assert "[ID]" in masked and "[PHONE]" in masked and "[ADDRESS]" in masked
    assert "110105194912310021" in masked  # wrong check digit: not a person's ID
    assert {label for _s, _e, label in identifier_spans(text)} == {"ID", "PHONE", "ADDRESS"}


def test_a_registered_masker_runs_too():
    register_text_masker("test-names", lambda text: [(text.index("李雷"), text.index("李雷") + 2, "PERSON")]
                         if "李雷" in text else [])
    try:
        assert mask_text("李雷来复诊") == "[PERSON]来复诊"
    finally:
        _maskers.pop("test-names")


def test_pseudonymise_keeps_a_keyed_pseudonym_and_generalises(hospital_a):
    record = {"patient_id": 7, "name": "张三", "national_id": VALID_ID, "birth_date": "1949-12-31", "age": 76,
              "region": "110105", "sex": "M", "record_text": "电话13812345678", "icd10_code": "E11.9"}
    out = deidentify_record(record, purpose="research", mode="pseudonymise", hospital_id=hospital_a.pk)
    assert "name" not in out and "national_id" not in out and "patient_id" not in out
    assert (out["birth_date"], out["age"], out["region"], out["icd10_code"]) == ("1949-12", "75-79", "1101", "E11.9")
    assert out["record_text"] == "电话[PHONE]"
    again = deidentify_record(record, purpose="research", mode="pseudonymise", hospital_id=hospital_a.pk)
    other_purpose = deidentify_record(record, purpose="partner_sharing", mode="pseudonymise", hospital_id=hospital_a.pk)
    assert out["pseudonym"] == again["pseudonym"] != other_purpose["pseudonym"]


def test_anonymise_drops_the_id_and_generalises_further(hospital_a):
    out = deidentify_record({"patient_id": 7, "birth_date": "1949-12-31", "age": 93, "region": "110105"},
                            purpose="research", mode="anonymise", hospital_id=hospital_a.pk)
    assert out == {"birth_date": "1949", "age": "90+", "region": "11"}


def test_k_anonymity_suppresses_small_groups(hospital_a):
    common = [{"patient_id": n, "sex": "F", "age": 41, "region": "110105"} for n in range(5)]
    rare = [{"patient_id": 99, "sex": "M", "age": 23, "region": "310101"}]
    result = deidentify_records(common + rare, purpose="research", mode="anonymise", hospital_id=hospital_a.pk, k=5)
    assert (len(result.records), result.suppressed, result.k) == (5, 1, 5)
    assert k_anonymity(result.records, ("sex", "age", "region"))[0] == 5


def test_k_anonymity_refuses_when_nothing_is_left(hospital_a):
    with pytest.raises(DomainError) as error:
        deidentify_records([{"sex": "M", "age": 23}], purpose="research", mode="anonymise", hospital_id=hospital_a.pk,
                           k=5)
    assert error.value.code == "k_anonymity_not_met"


def _records(patients):
    return [{"patient_id": p.pk, "sex": "F", "age": 41, "region": "110105", "icd10_code": "E11.9"} for p in patients]


def test_a_release_without_consent_is_refused_and_nothing_is_audited_as_sent(hospital_a, patient_a):
    from apps.compliance.release import data_release

    with pytest.raises(ConsentRequiredError):
        data_release(hospital_id=hospital_a.pk, records=_records([patient_a]), purpose="research", k=1)
    assert not AuditEvent.objects.filter(action="compliance.data.release").exists()


def test_a_consented_release_is_deidentified_and_passes_the_rules(hospital_a, doctor_a):
    from apps.compliance.release import data_release

    from .conftest import cases, detect

    patients = [patient_create(hospital_id=hospital_a.pk, name=f"患者{n}") for n in range(5)]
    for patient in patients:
        consent_record(hospital_id=hospital_a.pk, patient_id=patient.pk, purpose="model_training",
                       decision="granted", channel="wechat")
    released = data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="model_training",
                            actor=doctor_a, role="doctor")
    assert len(released.records) == 5 and all("pseudonym" in r and "patient_id" not in r for r in released.records)
    detect(hospital_a)
    assert cases(hospital_a, "egress_without_consent") == cases(hospital_a, "egress_not_deidentified") == []
