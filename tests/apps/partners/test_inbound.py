"""POST /api/v1/partners/inbound/: partner, signature, timestamp window, nonce,
idempotency, Bundle validation; clear 4xx codes and no partial write."""

import json
import time
import uuid

import pytest

from apps.partners.fhir import share_bundle_build
from apps.partners.models import ExternalRareCase, InboundNonce
from apps.partners.services import partner_set_status
from apps.partners.signing import signed_headers, key_decode
from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.support.partners import partner_make

pytestmark = pytest.mark.django_db
URL = "/api/v1/partners/inbound/"


def bundle(share_id: str, version: int = 1, **case) -> bytes:
    record = {"record": "case", "pseudonym": "a1b2c3", "sex": "F", "age": "45-49", "region": "1101",
              "icd10_code": "E75.2", "diagnosis": "戈谢病", "category": "E70-E90", "diagnosed_at": "2026-11",
              "rare_feature": 0.4, **case}
    lab = {"record": "lab_item", "report_ref": 1, "report_status": "final", "collected_at": "2026-11", "code": "HGB",
           "item_name": "血红蛋白", "value": 98.0, "unit": "g/L", "range_low": 115.0, "range_high": 150.0, "flag": "L"}
    return share_bundle_build(records=[record, lab], share_id=share_id, mode="pseudonymise",
                              categories=["condition", "observation", "diagnostic_report"], platform_code="origin",
                              platform_name="", version=version).encode()


@pytest.fixture
def origin(admin):
    """The partner that calls us: it sends X-Partner-Id "origin"."""
    partner, key = partner_make(admin, code="origin", name="Origin platform", our_id="us-at-origin")
    return partner, key_decode(key)


def post(client, body: bytes, *, key: bytes, partner="origin", share_id=None, timestamp=None, nonce=None,
         content_type="application/fhir+json", **overrides):
    share_id = share_id or json.loads(body)["identifier"]["value"]
    headers = signed_headers(key=key, partner_id=partner, idempotency_key=share_id, body=body,
                             timestamp=timestamp or int(time.time()), nonce=nonce)
    headers.update(overrides)
    headers.pop("Content-Type")
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return client.post(URL, data=body, content_type=content_type, **extra)


def test_a_signed_share_is_stored_and_acknowledged(client, origin):
    partner, key = origin
    share_id = str(uuid.uuid4())
    response = post(client, bundle(share_id), key=key)
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["status"] == "stored" and answer["share_id"] == share_id
    stored = ExternalRareCase.objects.get(pk=answer["id"])
    assert (stored.partner, stored.icd10_code, stored.sex, stored.age_band, stored.region, stored.observations) == \
        (partner, "E75.2", "female", "45-49", "1101", 1)
    assert stored.pseudonym == "a1b2c3" and stored.matches_our_focus  # our default focus is "*"
    assert AuditEvent.objects.filter(action="partners.inbound_received", object_id=answer["id"]).exists()


def test_a_retry_of_the_same_share_returns_the_stored_record(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    body = bundle(share_id)
    first = post(client, body, key=key)
    again = post(client, body, key=key)  # a new nonce and timestamp: a retry, not a replay
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "duplicate"
    assert ExternalRareCase.objects.count() == 1


def test_the_same_share_id_with_another_body_is_a_conflict(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    assert post(client, bundle(share_id), key=key).status_code == 201
    response = post(client, bundle(share_id, icd10_code="E75.0"), key=key)
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_conflict"


def test_a_newer_version_replaces_the_case_held_in_place(client, origin):
    partner, key = origin
    share_id = str(uuid.uuid4())
    first = post(client, bundle(share_id), key=key)
    assert first.status_code == 201 and first.json()["version"] == 1

    update = post(client, bundle(share_id, version=2, icd10_code="E75.0", diagnosis="GM2 神经节苷脂贮积症"), key=key)

    assert update.status_code == 200, update.json()
    assert update.json()["status"] == "updated" and update.json()["version"] == 2
    assert update.json()["id"] == first.json()["id"]
    [stored] = ExternalRareCase.objects.all()
    assert (stored.version, stored.icd10_code, stored.diagnosis_text) == (2, "E75.0", "GM2 神经节苷脂贮积症")
    assert stored.bundle["meta"]["versionId"] == "2" and stored.updated_at is not None
    event = AuditEvent.objects.get(action="partners.inbound_updated")
    assert (event.detail["version"], event.detail["previous_version"]) == (2, 1)


def test_an_older_version_never_replaces_a_newer_one(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    assert post(client, bundle(share_id), key=key).status_code == 201
    assert post(client, bundle(share_id, version=3, diagnosis="第三版"), key=key).status_code == 200
    nonces = InboundNonce.objects.count()

    late = post(client, bundle(share_id, version=2, diagnosis="第二版"), key=key)  # out of order
    replayed_first = post(client, bundle(share_id), key=key)  # a copy of version 1 sent again

    for response in (late, replayed_first):
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "version_outdated" and error["fields"]["stored_version"] == ["3"]
    stored = ExternalRareCase.objects.get()
    assert stored.version == 3 and stored.diagnosis_text == "第三版"
    assert InboundNonce.objects.count() == nonces  # refused: nothing written
    assert AuditEvent.objects.filter(action="partners.inbound_refused", detail__code="version_outdated").count() == 2


def test_the_same_update_delivered_twice_is_stored_once(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    assert post(client, bundle(share_id), key=key).status_code == 201
    body = bundle(share_id, version=2, diagnosis="更新")

    first, again = post(client, body, key=key), post(client, body, key=key)

    assert (first.status_code, first.json()["status"]) == (200, "updated")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert again.json()["id"] == first.json()["id"] and again.json()["version"] == 2
    assert ExternalRareCase.objects.count() == 1
    assert AuditEvent.objects.filter(action="partners.inbound_updated").count() == 1


def test_the_same_version_with_another_body_is_a_conflict(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    post(client, bundle(share_id), key=key)
    assert post(client, bundle(share_id, version=2, diagnosis="甲"), key=key).status_code == 200

    response = post(client, bundle(share_id, version=2, diagnosis="乙"), key=key)

    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_conflict"
    assert ExternalRareCase.objects.get().diagnosis_text == "甲"


def test_a_later_version_of_a_share_not_held_is_stored(client, origin):
    # every version is the whole case: one whose earlier versions never arrived is kept
    _partner, key = origin
    response = post(client, bundle(str(uuid.uuid4()), version=4), key=key)
    assert response.status_code == 201 and response.json()["version"] == 4
    assert ExternalRareCase.objects.get().version == 4


def test_a_bundle_without_a_version_is_version_1(client, origin):
    # as partners sent them before updates existed
    _partner, key = origin
    share_id = str(uuid.uuid4())
    body = _tampered(share_id, lambda d: d["meta"].pop("versionId"))
    assert post(client, body, key=key, share_id=share_id).status_code == 201
    assert ExternalRareCase.objects.get().version == 1
    newer = post(client, bundle(share_id, version=2), key=key)
    assert newer.status_code == 200 and newer.json()["status"] == "updated"


@pytest.mark.parametrize("version", ["0", "-1", "two", "1.5", "99999999999"])
def test_a_version_that_is_not_a_positive_whole_number_is_refused(client, origin, version):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    post(client, bundle(share_id), key=key)
    nonces = InboundNonce.objects.count()

    response = post(client, _tampered(share_id, lambda d: d["meta"].update(versionId=version)), key=key,
                    share_id=share_id)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bundle_invalid" and "meta.versionId" in error["fields"], error
    assert ExternalRareCase.objects.get().version == 1 and InboundNonce.objects.count() == nonces


def test_a_replayed_request_is_refused(client, origin):
    _partner, key = origin
    body = bundle(str(uuid.uuid4()))
    stamp, nonce = int(time.time()), uuid.uuid4().hex
    assert post(client, body, key=key, timestamp=stamp, nonce=nonce).status_code == 201
    replay = post(client, body, key=key, timestamp=stamp, nonce=nonce)
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "replay"


@pytest.mark.parametrize("change, status, code", [
    ({"partner": "stranger"}, 401, "partner_unknown"),
    ({"X-Signature": "v1=" + "0" * 64}, 401, "signature_invalid"),
    ({"X-Signature": ""}, 401, "signature_missing"),
    ({"timestamp": int(time.time()) - 3600}, 401, "timestamp_stale"),
    ({"X-Timestamp": "yesterday"}, 400, "timestamp_invalid"),
    ({"nonce": "not-hex"}, 400, "nonce_invalid"),
    ({"content_type": "text/plain"}, 415, "unsupported_media_type"),
])
def test_bad_requests_get_clear_codes_and_write_nothing(client, origin, change, status, code):
    _partner, key = origin
    body = bundle(str(uuid.uuid4()))
    response = post(client, body, key=key, **change)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not ExternalRareCase.objects.exists() and not InboundNonce.objects.exists()
    assert AuditEvent.objects.filter(action="partners.inbound_refused", detail__code=code).exists()


def test_a_signature_over_another_body_is_refused(client, origin):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    body = bundle(share_id)
    headers = signed_headers(key=key, partner_id="origin", idempotency_key=share_id, body=b"{}",
                             timestamp=int(time.time()))
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    response = client.post(URL, data=body, content_type="application/fhir+json", **extra)
    assert response.status_code == 401 and response.json()["error"]["code"] == "signature_invalid"


def test_a_revoked_or_suspended_partner_is_refused(client, origin, admin):
    partner, key = origin
    partner_set_status(partner_id=partner.pk, status="suspended", actor=admin, role=Role.PLATFORM_ADMIN)
    assert post(client, bundle(str(uuid.uuid4())), key=key).json()["error"]["code"] == "partner_suspended"
    partner_set_status(partner_id=partner.pk, status="revoked", actor=admin, role=Role.PLATFORM_ADMIN)
    response = post(client, bundle(str(uuid.uuid4())), key=key)
    assert response.status_code == 403 and response.json()["error"]["code"] == "partner_revoked"
    assert not ExternalRareCase.objects.exists()


def _tampered(share_id: str, mutate) -> bytes:
    data = json.loads(bundle(share_id))
    mutate(data)
    return json.dumps(data).encode()


def _patient(data):
    return next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")


@pytest.mark.parametrize("mutate, field", [
    (lambda d: _patient(d).update(name=[{"text": "王小丽"}]), "Patient"),
    (lambda d: _patient(d).update(birthDate="1981-03-14"), "Patient"),
    (lambda d: _patient(d).update(identifier=[{"system": "urn:oid:national-id", "value": "110105198103140025"}]),
     "Patient"),
    (lambda d: d["entry"].append({"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Practitioner"}}),
     "entry.resource.resourceType"),
    (lambda d: d.update(type="transaction"), "type"),
    (lambda d: d["identifier"].update(value=str(uuid.uuid4())), "identifier"),
    (lambda d: d.update(entry=[e for e in d["entry"] if e["resource"]["resourceType"] != "Condition"]), "Condition"),
    (lambda d: d.update(entry=[e for e in d["entry"] if e["resource"]["resourceType"] != "Provenance"]),
     "Provenance"),
    (lambda d: next(e["resource"] for e in d["entry"] if e["resource"]["resourceType"] == "Condition").update(
        subject={"reference": "https://elsewhere.example/Patient/1"}), "Condition.subject"),
    (lambda d: next(e["resource"] for e in d["entry"] if e["resource"]["resourceType"] == "Observation").update(
        valueQuantity={"value": "lots"}), "entry.2.resource.valueQuantity.value"),
])
def test_an_invalid_or_identifying_bundle_is_refused_without_a_trace(client, origin, mutate, field):
    _partner, key = origin
    share_id = str(uuid.uuid4())
    response = post(client, _tampered(share_id, mutate), key=key, share_id=share_id)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bundle_invalid" and field in error["fields"], error
    assert not ExternalRareCase.objects.exists() and not InboundNonce.objects.exists()


def test_a_body_that_is_not_json_is_a_bundle_error(client, origin):
    _partner, key = origin
    response = post(client, b"\xff not json", key=key, share_id=str(uuid.uuid4()))
    assert response.status_code == 400 and response.json()["error"]["code"] == "bundle_invalid"


def test_an_oversized_share_is_refused_before_it_is_read(client, origin, admin):
    from tests.support.partners import platform_settings

    platform_settings(admin, inbound_max_bytes=10_000)
    _partner, key = origin
    share_id = str(uuid.uuid4())
    body = _tampered(share_id, lambda d: d["entry"][1]["resource"]["code"].update(text="x" * 20_000))
    response = post(client, body, key=key, share_id=share_id)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("body", [
    b"[]", b"{}", b"null", b'"Bundle"', b"1e999",
    b'{"resourceType": "Bundle", "type": "collection", "entry": [1, "x", null]}',
    b'{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": 5, "resource": {"resourceType": "Patient"}}]}',
    b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Condition", '
    b'"subject": "x", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E75.2"}]}}}]}',
    b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": ["Patient"]}}]}',
    b'{"resourceType": "Bundle", "type": "collection", "identifier": "x", "entry": {"a": 1}}',
])
def test_malformed_bodies_are_400_never_500(client, origin, body):
    _partner, key = origin
    response = post(client, body, key=key, share_id=str(uuid.uuid4()))
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "bundle_invalid"


def test_a_flood_from_one_partner_is_throttled_before_anything_is_read(client, origin, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"partner_inbound": "2/min"})
    _partner, key = origin
    first, second = (post(client, bundle(str(uuid.uuid4())), key=key) for _ in range(2))
    assert (first.status_code, second.status_code) == (201, 201)

    third = post(client, bundle(str(uuid.uuid4())), key=key)
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "rate_limited"
    assert ExternalRareCase.objects.count() == 2
    # another partner id from the same address has a bucket of its own (and is then refused
    # for what it is: unknown), so nobody can spend a real partner's quota by naming it
    stranger = post(client, bundle(str(uuid.uuid4())), key=key, partner="someone-else")
    assert stranger.status_code == 401
