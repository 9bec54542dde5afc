import pickle

import pytest

from apps.tenancy.roles import Role
from tests.factories import member_of
from apps.partners.services import rare_case_share_decide, rare_case_share_update
from apps.tenancy.context import tenant_context
from apps.partners.signing import key_generate
from tests.fakes.flaky_proxy import FlakyProxy
from tests.support.partners import (hospital_settings, lab_report_make, partner_make, platform_admin,
                                    platform_settings, population, rare_case_make)


@pytest.fixture
def admin(hospital_a):
    return platform_admin(hospital_a)


@pytest.fixture
def officer_a(hospital_a):
    return member_of(hospital_a, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def hospital_admin_a(hospital_a):
    return member_of(hospital_a, Role.HOSPITAL_ADMIN)


@pytest.fixture
def sharing(admin):
    """The presets most tests start from: range [0.5, 1.0], no approval, k=5."""
    platform_settings(admin, share_index_low=0.5, share_index_high=1.0, approval_required=False, k_anonymity=5)
    return admin


@pytest.fixture
def peer(sharing):
    """An active, interconnected partner focused on E70-E90 (its endpoint is a closed port)."""
    return partner_make(sharing, focus=["E70-E90"], our_id="our-id-at-peer-1234")[0]


@pytest.fixture
def awaiting_share(hospital_a, peer, sharing):
    """A share of hospital A waiting for a compliance officer."""
    hospital_settings(sharing, hospital_a, approval_required=True)
    population(hospital_a, count=10)
    case = rare_case_make(hospital_a)
    with tenant_context(hospital_a.pk):
        return rare_case_share_decide(case_id=case.pk).shares.get()


@pytest.fixture
def awaiting_update(awaiting_share):
    """Version 2 of `awaiting_share`, waiting for a compliance officer: the first
    version was delivered (recorded as the delivery task records it, no partner
    needed), then the patient had a new lab report."""
    from apps.partners.models import OutboundShare

    hospital_id = awaiting_share.hospital_id
    with tenant_context(hospital_id):
        OutboundShare.objects.filter(pk=awaiting_share.pk).update(status=OutboundShare.Status.DELIVERED)
    lab_report_make(awaiting_share.hospital, awaiting_share.patient)
    with tenant_context(hospital_id):
        return rare_case_share_update(case_id=awaiting_share.case_id).shares.get()


@pytest.fixture
def proxy(live_server):
    """A loopback proxy in front of this platform's live server that can fail requests."""
    with FlakyProxy(live_server.url) as running:
        yield running


@pytest.fixture
def loop(sharing, proxy, hospital_a):
    """Both ends of the link on this platform, with one shared key: partner "peer" is
    this platform's inbound endpoint behind the proxy, "origin" how the inbound side
    knows the sender."""
    key = key_generate()
    peer, _k = partner_make(sharing, code="peer", endpoint_url=proxy.url, our_id="origin", key=key)
    # (not interconnected: this side only receives, so cases are not sent back to it)
    origin, _k = partner_make(sharing, code="origin", name="Origin", our_id="peer", key=key, interconnected=False)
    platform_settings(sharing, retry_base_seconds=0.01, max_attempts=4, timeout_seconds=20)
    population(hospital_a, count=10)
    return peer, origin


@pytest.fixture
def small_knowledge_graph(tmp_path, settings):
    """Step 8 (keep-alive) asks the knowledge graph for related items: an empty one
    here, not PyCMeKG's 46 MB pickle."""
    from apps.rarecases.knowledge import _cached

    path = tmp_path / "graph.pkl"
    path.write_bytes(pickle.dumps({}))
    settings.RARECASES_KNOWLEDGE_GRAPH_PATH = str(path)
    _cached.cache_clear()
    yield path
    _cached.cache_clear()
