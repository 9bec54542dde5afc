"""Step 8: related data by the retrieval feature (similar cases on the platform,
catalogue entries, knowledge-graph entries, registered providers), stored on the
case, pushed to followers; and following itself."""

import datetime

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.configuration.services import setting_set
from apps.core.exceptions import PermissionDeniedError
from apps.privacy.models import AuditEvent
from apps.rarecases.catalogue import catalogue_import
from apps.rarecases.keepalive import case_keep_alive, cases_due
from apps.rarecases.knowledge import load_knowledge_graph
from apps.rarecases.models import CaseFollow, RareCase
from apps.rarecases.rarity import rarity_analyse
from apps.rarecases.related import _PROVIDERS, register_related_provider
from apps.rarecases.services import case_follow, case_unfollow, rare_case_index
from apps.rarecases.signals import case_kept_alive, case_refreshed
from apps.realtime.groups import user_group
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.factories import member_of

from .conftest import FIXTURES, add_diagnoses

pytestmark = pytest.mark.django_db


@pytest.fixture
def gaucher_cases(hospital_a, hospital_b, knowledge_file):
    catalogue_import(folder=FIXTURES, graph=load_knowledge_graph(knowledge_file))
    add_diagnoses(hospital_a, [("g", "E75.2", "戈谢病")] + [(f"a{i}", "J06.9", "感冒") for i in range(40)])
    add_diagnoses(hospital_b, [("h", "E75.2", "戈谢病")])
    setting_set(key="rarecases.incidence_rate", value=0.05, actor=None, role=Role.PLATFORM_ADMIN, hospital_id=None)
    rarity_analyse()
    with tenant_context(hospital_b.pk):
        rare_case_index(case_id=RareCase.objects.get().pk, structure=False)
    with tenant_context(hospital_a.pk):
        case = RareCase.objects.get()
        rare_case_index(case_id=case.pk, structure=False)
    return case


@pytest.fixture
def external_provider():
    @register_related_provider("test_external")
    def external(case, feature):
        yield {"kind": "external_case", "key": f"partner-1:{case.icd10_code}", "title": "伙伴平台的病例",
               "detail": {"codes": feature["codes"]}}

    @register_related_provider("test_broken")
    def broken(case, feature):
        raise RuntimeError("partner down")

    yield
    _PROVIDERS.pop("test_external")
    _PROVIDERS.pop("test_broken")


def test_keep_alive_retrieves_related_data_by_the_retrieval_feature(gaucher_cases, hospital_a, external_provider):
    case = gaucher_cases
    with tenant_context(hospital_a.pk):
        refreshed = case_keep_alive(case_id=case.pk)

    items = {(item["kind"], item["key"]): item for item in refreshed.related_data["items"]}
    similar = [item for (kind, _key), item in items.items() if kind == "similar_case"]
    assert len(similar) == 1 and similar[0]["detail"]["same_code"] and "Hospital B" in similar[0]["title"]
    assert ("catalogue", "ccrd:CCRD:31") in items and ("catalogue", "orphanet:ORPHA:355") in items
    knowledge = items[("knowledge", "戈谢病")]
    assert "肝脾肿大" in knowledge["detail"]["常见症状"] and knowledge["provider"] == "knowledge_graph"
    assert ("external_case", "partner-1:E75.2") in items  # a provider another app registered
    assert all(item["new"] for item in items.values()) and refreshed.kept_alive_at is not None
    event = AuditEvent.objects.get(action="rarecases.case_keep_alive")
    assert event.detail["new"] == len(items) and "test_broken" not in event.detail["providers"]


def test_a_second_refresh_marks_nothing_new_and_tells_no_one(gaucher_cases, hospital_a):
    case = gaucher_cases
    heard = []
    case_kept_alive.connect(lambda sender, **kw: heard.append(kw["new_items"]), weak=False, dispatch_uid="heard")
    try:
        with tenant_context(hospital_a.pk):
            case_keep_alive(case_id=case.pk)
            again = case_keep_alive(case_id=case.pk)
    finally:
        case_kept_alive.disconnect(dispatch_uid="heard")
    assert again.related_data["new"] == 0 and not any(item["new"] for item in again.related_data["items"])
    assert len(heard) == 1


def test_every_refresh_tells_other_apps_the_case_was_refreshed(gaucher_cases, hospital_a):
    # new related data or not: a shared case's partners may need its new findings
    case = gaucher_cases
    heard = []
    case_refreshed.connect(lambda sender, **kw: heard.append((kw["case"].pk, kw["feature_changed"])), weak=False,
                           dispatch_uid="heard-refreshed")
    try:
        with tenant_context(hospital_a.pk):
            case_keep_alive(case_id=case.pk)
            RareCase.objects.filter(pk=case.pk).update(retrieval_feature={"codes": [case.icd10_code]})
            case_keep_alive(case_id=case.pk)
    finally:
        case_refreshed.disconnect(dispatch_uid="heard-refreshed")
    assert heard == [(case.pk, False), (case.pk, True)]


def test_cases_are_due_again_after_the_second_period(gaucher_cases, hospital_a, django_capture_on_commit_callbacks):
    case = gaucher_cases
    with django_capture_on_commit_callbacks(execute=True):
        setting_set(key="rarecases.second_period_days", value=7.0, actor=None, role=Role.HOSPITAL_ADMIN,
                    hospital_id=hospital_a.pk)
    with tenant_context(hospital_a.pk):
        assert cases_due() == [case.pk]
        case_keep_alive(case_id=case.pk)
        assert cases_due() == []
        assert cases_due(now=timezone.now() + datetime.timedelta(days=8)) == [case.pk]


def test_followers_hear_of_new_related_data(gaucher_cases, hospital_a, django_capture_on_commit_callbacks):
    case = gaucher_cases
    doctor = member_of(hospital_a, Role.DOCTOR)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(doctor.pk), channel)
    with tenant_context(hospital_a.pk):
        case_follow(case=case, user=doctor, role=Role.DOCTOR)
        with django_capture_on_commit_callbacks(execute=True):
            case_keep_alive(case_id=case.pk)

    message = async_to_sync(layer.receive)(channel)
    event = message["event"]
    assert event["type"] == "rare_case.updated" and event["data"]["id"] == case.pk
    assert {item["kind"] for item in event["data"]["new"]} >= {"similar_case", "catalogue", "knowledge"}


def test_following_is_for_clinicians_and_once(gaucher_cases, hospital_a):
    case = gaucher_cases
    doctor, officer = member_of(hospital_a, Role.DOCTOR), member_of(hospital_a, Role.COMPLIANCE_OFFICER)
    with tenant_context(hospital_a.pk):
        case_follow(case=case, user=doctor, role=Role.DOCTOR)
        case_follow(case=case, user=doctor, role=Role.DOCTOR)
        with pytest.raises(PermissionDeniedError):
            case_follow(case=case, user=officer, role=Role.COMPLIANCE_OFFICER)
        assert CaseFollow.objects.filter(case=case).count() == 1
        assert case_unfollow(case=case, user=doctor, role=Role.DOCTOR)
        assert not case_unfollow(case=case, user=doctor, role=Role.DOCTOR)
    assert AuditEvent.objects.filter(action="rarecases.case_follow").count() == 1


def test_a_failing_receiver_is_undone_and_the_refresh_stands(gaucher_cases, hospital_a):
    case = gaucher_cases
    doctor = member_of(hospital_a, Role.DOCTOR)

    def failing(sender, case, **kwargs):
        CaseFollow.objects.create(case=case, user=doctor, hospital_id=case.hospital_id)
        raise RuntimeError("a receiver's bug")

    case_kept_alive.connect(failing, weak=False, dispatch_uid="failing")
    try:
        with tenant_context(hospital_a.pk):
            refreshed = case_keep_alive(case_id=case.pk)
            assert not CaseFollow.objects.exists()
            assert RareCase.objects.get(pk=case.pk).kept_alive_at == refreshed.kept_alive_at
    finally:
        case_kept_alive.disconnect(dispatch_uid="failing")
