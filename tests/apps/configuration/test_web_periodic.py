"""Periodic jobs in the web admin (platform administrators only): the list, creating
and changing a job, and the service's validation errors shown per field."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.configuration.periodic import periodic_task_save
from apps.privacy.models import AuditEvent
from apps.tenancy.roles import Role
from tests.apps.webadmin.pages import read_page, text_of
from tests.factories import member_of

LIST = reverse("configuration_web:periodic")
NEW = reverse("configuration_web:periodic-new")
TASK = "realtime.notice_deliver"


def edit_url(job):
    return reverse("configuration_web:periodic-edit", args=[job.pk])


@pytest.fixture
def platform_admin(hospital_a):
    return member_of(hospital_a, Role.PLATFORM_ADMIN)


@pytest.fixture
def admin_client(client, platform_admin):
    client.force_login(platform_admin)
    return client


@pytest.fixture
def nightly(platform_admin):
    return periodic_task_save(actor=platform_admin, role=Role.PLATFORM_ADMIN, name="nightly", task=TASK,
                              crontab={"minute": "0", "hour": "2"}, kwargs={"hospital_id": 1, "notice_id": 1})


def form_data(**overrides) -> dict:
    data = {"task": TASK, "enabled": "on", "schedule": "crontab", "minute": "0", "hour": "2", "day_of_week": "*",
            "day_of_month": "*", "month_of_year": "*", "every": "", "period": "minutes",
            "kwargs": '{"hospital_id": 1, "notice_id": 1}'}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_list_shows_schedule_enabled_and_last_run(admin_client, nightly):
    # Given
    PeriodicTask.objects.filter(pk=nightly.pk).update(last_run_at=timezone.now(), total_run_count=3)

    # When
    response = admin_client.get(LIST)

    # Then
    assert response.status_code == 200
    page = read_page(response.content)
    assert page.texts["job-schedule"] == "0 2 * * *"
    assert page.texts["job-enabled"] == "已启用"
    html = response.content.decode()
    assert f'href="{edit_url(nightly)}"' in html and '<td>3</td>' in html


@pytest.mark.parametrize("role", [Role.HOSPITAL_ADMIN, Role.DOCTOR])
def test_only_platform_admins_reach_periodic_jobs(client, hospital_a, nightly, role):
    # Given
    client.force_login(member_of(hospital_a, role))

    # When
    responses = [client.get(LIST), client.get(edit_url(nightly)), client.post(edit_url(nightly), form_data(hour="3")),
                 client.post(NEW, form_data(name="other"))]

    # Then
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    nightly.refresh_from_db()
    assert nightly.crontab.hour == "2" and not PeriodicTask.objects.filter(name="other").exists()


def test_edit_form_starts_from_the_jobs_schedule(admin_client, nightly):
    # When
    html = admin_client.get(edit_url(nightly)).content.decode()

    # Then
    assert 'name="hour" value="2"' in html
    assert re.search(r'<input type="radio" name="schedule" value="crontab"[^>]*checked', html)
    assert "&quot;notice_id&quot;: 1" in html


def test_platform_admin_creates_a_job(admin_client, platform_admin):
    # When
    response = admin_client.post(NEW, form_data(name="weekly", minute="30", hour="6", day_of_week="1"))

    # Then
    assert response.status_code == 302 and response.url == LIST
    job = PeriodicTask.objects.get(name="weekly")
    assert (job.task, job.enabled, job.crontab.minute, job.crontab.hour, job.crontab.day_of_week) == \
        (TASK, True, "30", "6", "1")
    assert json.loads(job.kwargs) == {"hospital_id": 1, "notice_id": 1}
    assert text_of(admin_client.get(LIST).content, "message") == "定时任务 weekly 已保存。"


def test_platform_admin_switches_a_job_to_an_interval_and_disables_it(admin_client, nightly):
    # When
    response = admin_client.post(edit_url(nightly), form_data(schedule="interval", every="15", period="minutes",
                                                              enabled=None))

    # Then
    assert response.status_code == 302
    nightly.refresh_from_db()
    assert (nightly.enabled, nightly.crontab, nightly.interval.every, nightly.interval.period) == \
        (False, None, 15, "minutes")
    event = AuditEvent.objects.filter(action="configuration.periodic_task_save").order_by("occurred_at").last()
    assert event.detail["old"]["crontab"]["hour"] == "2"
    assert event.detail["new"]["interval"] == {"every": 15, "period": "minutes"}


@pytest.mark.parametrize("overrides, field, message", [
    ({"minute": "61"}, "crontab", "不是有效的 crontab："),
    ({"task": "no.such.task"}, "task", "no.such.task 不是本平台已知的任务。"),
    ({"schedule": "interval", "every": "5", "period": "seconds"}, "interval", "运行间隔不能短于 10 秒。"),
    ({"kwargs": "[1, 2]"}, "kwargs", "关键字参数必须是 JSON 对象。"),
])
def test_the_services_validation_errors_show_per_field_and_nothing_changes(admin_client, nightly, overrides, field,
                                                                          message):
    """`message` is the whole message, or its start where Celery words the rest."""
    # When
    response = admin_client.post(edit_url(nightly), form_data(hour="5", **overrides))

    # Then: the form again, with the error at its field and what was typed
    assert response.status_code == 400
    error = text_of(response.content, f"error-{field}")
    assert error.startswith(message)
    assert 'name="hour" value="5"' in response.content.decode()
    nightly.refresh_from_db()
    assert (nightly.crontab.hour, nightly.task) == ("2", TASK)


def test_kwargs_that_are_not_json_are_refused_by_the_form(admin_client, nightly):
    # When
    response = admin_client.post(edit_url(nightly), form_data(kwargs="{hospital_id: 1"))

    # Then
    assert response.status_code == 400
    assert text_of(response.content, "error-kwargs") == "输入一个有效的JSON。"
    assert "{hospital_id: 1" in response.content.decode()


def test_a_second_job_with_the_same_name_is_refused(admin_client, nightly):
    # When
    response = admin_client.post(NEW, form_data(name="nightly", hour="4"))

    # Then
    assert response.status_code == 400
    assert text_of(response.content, "error-name") == "已存在同名任务。"
    assert PeriodicTask.objects.filter(name="nightly").count() == 1
    assert not CrontabSchedule.objects.filter(hour="4").exists()


def test_an_unknown_job_is_a_404(admin_client, db):
    # When
    response = admin_client.get(reverse("configuration_web:periodic-edit", args=[999999]))

    # Then
    assert response.status_code == 404


def test_the_list_costs_the_same_queries_for_one_job_or_many(admin_client, platform_admin, nightly):
    # Given
    with CaptureQueriesContext(connection) as one_job:
        admin_client.get(LIST)
    for number in range(3):
        periodic_task_save(actor=platform_admin, role=Role.PLATFORM_ADMIN, name=f"hourly-{number}", task=TASK,
                           interval={"every": number + 1, "period": "hours"}, kwargs={})

    # When
    with CaptureQueriesContext(connection) as four_jobs:
        response = admin_client.get(LIST)

    # Then: schedules come with the jobs, not one query per row
    assert response.content.decode().count("data-job=") == 4
    assert len(four_jobs.captured_queries) == len(one_job.captured_queries)
