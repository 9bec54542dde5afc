import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.services import token_issue
from apps.tenancy.roles import Role

from .factories import HospitalFactory, member_of


def is_postgres() -> bool:
    return connection.vendor == "postgresql"




def _clear_this_runs_cache():
    """Login lockouts, throttles and configuration versions live in the cache (Redis in
    CI); tests must not inherit each other's. Only this run's keys go (test settings
    give each run its own key prefix), so two suites sharing a Redis do not collide."""
    from django.conf import settings

    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    _clear_this_runs_cache()
    yield
    _clear_this_runs_cache()


@pytest.fixture
def postgres(db):
    if not is_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL); CI always runs it")


@pytest.fixture
def hospital_a(db):
    return HospitalFactory(name="Hospital A", slug="hospital-a")


@pytest.fixture
def hospital_b(db):
    return HospitalFactory(name="Hospital B", slug="hospital-b")


@pytest.fixture
def doctor_a(hospital_a):
    return member_of(hospital_a, Role.DOCTOR)


@pytest.fixture
def doctor_b(hospital_b):
    return member_of(hospital_b, Role.DOCTOR)


@pytest.fixture
def api_client():
    return APIClient()


def client_for(user) -> APIClient:
    """An API client that authenticates as `user` with a real bearer token."""
    raw, _token = token_issue(user=user, kind=ApiToken.Kind.PASSWORD)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def fake_wechat(settings):
    from .fakes.wechat_server import FakeWeChat

    server = FakeWeChat(app_id="wx-test-app", app_secret="wx-test-secret").start()
    settings.WECHAT_API_BASE_URL = server.base_url
    settings.WECHAT_APP_ID = server.app_id
    settings.WECHAT_APP_SECRET = server.app_secret
    settings.WECHAT_TIMEOUT_SECONDS = 2
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_configuration_cache():
    # Each test starts from the database, not from values an earlier test cached.
    from apps.configuration.selectors import forget_local

    forget_local()
    yield
    forget_local()
