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


# --- pseudonyms per recipient ----------------------------------------------------------------
# Values issued before recipients existed, under the fixed test key ring: a pseudonym
# without a recipient must stay exactly these, or stored index entries and earlier
# releases would stop matching.
PSEUDONYMS_BEFORE_RECIPIENTS = {
    (7, "research", 1): "ffefb71c3f85c85ef1d7",
    (7, "partner_sharing", 1): "574bedc99d6393b7c0ec",
    (42, "partner_sharing", 3): "5bd523f63f44631bd5ba",
    (7, "rare_case_index", 1): "b029a0d4211fb211e6ce",
}


def test_without_a_recipient_the_pseudonym_is_the_one_issued_before():
    from apps.compliance.deidentify import pseudonym

    for (value, purpose, hospital_id), before in PSEUDONYMS_BEFORE_RECIPIENTS.items():
        assert pseudonym(value, purpose=purpose, hospital_id=hospital_id) == before
        assert pseudonym(value, purpose=purpose, hospital_id=hospital_id, recipient="") == before
    out = deidentify_record({"patient_id": 7}, purpose="research", mode="pseudonymise", hospital_id=1)
    assert out == {"pseudonym": PSEUDONYMS_BEFORE_RECIPIENTS[(7, "research", 1)]}


def test_a_recipient_gets_its_own_pseudonym_the_same_every_time():
    from apps.compliance.deidentify import pseudonym

    def at(recipient, purpose="partner_sharing"):
        return pseudonym(7, purpose=purpose, hospital_id=1, recipient=recipient)

    assert at("partner:a") == at("partner:a")
    assert at("partner:a") != at("partner:b")
    assert at("partner:a") != PSEUDONYMS_BEFORE_RECIPIENTS[(7, "partner_sharing", 1)]
    assert at("partner:a") != at("partner:a", purpose="research")  # the purpose still separates


def test_the_recipients_key_is_derived_from_the_purposes_key():
    # Given the derivation written out independently of deidentify.py
    import base64
    import hashlib
    import hmac

    from django.conf import settings

    from apps.compliance.deidentify import pseudonym

    key_id, encoded = settings.FIELD_ENCRYPTION_KEYS.split(":")
    assert key_id == settings.FIELD_ENCRYPTION_ACTIVE_KEY_ID
    ring_key = base64.urlsafe_b64decode(encoded)
    purpose_key = hmac.new(ring_key, b"compliance:pseudonym:partner_sharing", hashlib.sha256).digest()
    recipient_key = hmac.new(purpose_key, b"pseudonym-recipient\x00partner:a", hashlib.sha256).digest()
    expected = hmac.new(recipient_key, b"1\x007", hashlib.sha256).hexdigest()[:20]

    assert pseudonym(7, purpose="partner_sharing", hospital_id=1, recipient="partner:a") == expected


@pytest.mark.parametrize("recipient", [" ", "partner:a ", " partner:a", "x" * 201, 5])
def test_a_blank_padded_or_overlong_recipient_is_refused(recipient):
    with pytest.raises(DomainError) as error:
        deidentify_records([{"patient_id": 7}], purpose="research", mode="pseudonymise", hospital_id=1, k=1,
                           recipient=recipient)
    assert error.value.code == "invalid" and "recipient" in error.value.fields


def _consented(hospital, purpose, count):
    patients = [patient_create(hospital_id=hospital.pk, name=f"患者{n}") for n in range(count)]
    for patient in patients:
        consent_record(hospital_id=hospital.pk, patient_id=patient.pk, purpose=purpose, decision="granted",
                       channel="wechat")
    return patients


def test_a_release_to_a_recipient_carries_its_pseudonyms_and_names_it_in_the_audit(hospital_a, doctor_a):
    from apps.compliance.deidentify import pseudonym
    from apps.compliance.release import data_release

    patients = _consented(hospital_a, "partner_sharing", 1)

    to_a = data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="partner_sharing", k=1,
                        recipient="partner:a", actor=doctor_a, role="doctor")
    to_b = data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="partner_sharing", k=1,
                        recipient="partner:b", actor=doctor_a, role="doctor")
    to_a_again = data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="partner_sharing", k=1,
                              recipient="partner:a", actor=doctor_a, role="doctor")

    a, b, a_again = (r.records[0]["pseudonym"] for r in (to_a, to_b, to_a_again))
    assert a == a_again != b
    assert a == pseudonym(patients[0].pk, purpose="partner_sharing", hospital_id=hospital_a.pk, recipient="partner:a")
    assert (to_a.recipient, to_b.recipient) == ("partner:a", "partner:b")
    releases = AuditEvent.objects.filter(action="compliance.data.release")
    assert sorted((e.detail["purpose"], e.detail["recipient"]) for e in releases) == [
        ("partner_sharing", "partner:a"), ("partner_sharing", "partner:a"), ("partner_sharing", "partner:b")]


def test_a_release_without_a_recipient_keeps_the_purposes_pseudonym(hospital_a):
    from apps.compliance.deidentify import pseudonym
    from apps.compliance.release import data_release

    patients = _consented(hospital_a, "research", 1)
    released = data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="research", k=1)
    assert released.records[0]["pseudonym"] == pseudonym(patients[0].pk, purpose="research",
                                                          hospital_id=hospital_a.pk)
    assert AuditEvent.objects.get(action="compliance.data.release").detail["recipient"] == ""


def test_a_release_to_a_padded_recipient_is_refused_and_writes_nothing(hospital_a):
    from apps.compliance.release import data_release

    patients = _consented(hospital_a, "partner_sharing", 1)
    with pytest.raises(DomainError) as error:
        data_release(hospital_id=hospital_a.pk, records=_records(patients), purpose="partner_sharing", k=1,
                     recipient="partner:a ")
    assert (error.value.code, error.value.status_code) == ("invalid", 400)
    assert not AuditEvent.objects.filter(action="compliance.data.release").exists()
