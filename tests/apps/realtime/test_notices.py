import pytest

from apps.realtime.models import Notice
from apps.realtime.services import notice_deliver_now
from apps.realtime.tasks import notice_deliver
from apps.tenancy.context import tenant_context
from apps.tenancy.roles import Role
from tests.conftest import client_for
from tests.factories import member_of

NOTICES_URL = "/api/v1/notices/"


def test_admin_sends_a_notice_and_it_is_delivered(hospital_a, django_capture_on_commit_callbacks):
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(NOTICES_URL, {"title": "t", "body": "b", "roles": ["doctor"]}, format="json")
    assert response.status_code == 201
    with tenant_context(hospital_a.pk):
        assert Notice.objects.get().delivered_at is not None


def test_delivery_happens_once_however_often_the_task_runs(hospital_a):
    with tenant_context(hospital_a.pk):
        notice = Notice.objects.create(hospital=hospital_a, title="t", body="b", audience=",doctor,")
        assert notice_deliver_now(notice_id=notice.pk) is True
        assert notice_deliver_now(notice_id=notice.pk) is False


def test_a_doctor_may_not_send_notices(doctor_a):
    response = client_for(doctor_a).post(NOTICES_URL, {"title": "t", "body": "b", "roles": ["doctor"]}, format="json")
    assert response.status_code == 403


def test_roles_must_be_staff_roles(hospital_a):
    admin = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    response = client_for(admin).post(NOTICES_URL, {"title": "t", "body": "b", "roles": ["patient"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["roles.0"]


def test_staff_list_only_notices_meant_for_their_role(hospital_a, doctor_a):
    with tenant_context(hospital_a.pk):
        Notice.objects.create(hospital=hospital_a, title="for doctors", body="b", audience=",doctor,")
        Notice.objects.create(hospital=hospital_a, title="for compliance", body="b", audience=",compliance_officer,")
    titles = [row["title"] for row in client_for(doctor_a).get(NOTICES_URL).json()["results"]]
    assert titles == ["for doctors"]


def test_a_tenant_task_without_a_hospital_fails_loudly(db):
    with pytest.raises(ValueError, match="hospital_id"):
        notice_deliver.apply(kwargs={"notice_id": 1}, throw=True)


def test_a_tenant_task_runs_in_its_hospitals_context(hospital_a, hospital_b):
    # Given a notice of hospital A, a task told it belongs to hospital B cannot see it
    with tenant_context(hospital_a.pk):
        notice = Notice.objects.create(hospital=hospital_a, title="t", body="b", audience=",doctor,")
    assert notice_deliver.apply(kwargs={"hospital_id": hospital_b.pk, "notice_id": notice.pk}).get() is False
    assert notice_deliver.apply(kwargs={"hospital_id": hospital_a.pk, "notice_id": notice.pk}).get() is True
