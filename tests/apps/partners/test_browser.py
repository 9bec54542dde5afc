"""The share log in a real browser: a compliance officer finds the waiting share from
the navigation, sees nothing built yet, and approves it; the page
then shows it delivered to the partner (this platform's own live server, eager
delivery) with its attempt."""

import os

import pytest
from playwright.sync_api import expect

from apps.partners.models import ExternalRareCase
from apps.partners.services import rare_case_share_decide
from apps.partners.signing import key_generate
from apps.tenancy.context import tenant_context
from tests.apps.webadmin.test_browser import log_in
from tests.support.browser import BROWSER_MARKS, browser, page  # noqa: F401 (fixtures)
from tests.support.partners import hospital_settings, partner_make, population, rare_case_make

pytestmark = BROWSER_MARKS


def test_an_officer_approves_a_share_in_the_share_log(page, live_server, hospital_a, officer_a, sharing):
    key = key_generate()
    partner_make(sharing, code="peer", name="协作平台", endpoint_url=live_server.url, our_id="origin", key=key)
    partner_make(sharing, code="origin", our_id="peer", key=key, interconnected=False)
    hospital_settings(sharing, hospital_a, approval_required=True)
    population(hospital_a, count=10)
    case = rare_case_make(hospital_a)
    with tenant_context(hospital_a.pk):
        share = rare_case_share_decide(case_id=case.pk).shares.get()

    log_in(page, officer_a)
    page.click("[data-nav='partners_web:shares']")
    page.click(f"[data-share='{share.pk}'] a >> nth=0")
    expect(page.get_by_test_id("share-status")).to_have_attribute("data-status", "awaiting_approval")
    page.fill("form:has([data-testid=approve]) input[name=note]", "已核对")
    page.click("[data-testid=approve]")

    expect(page.get_by_test_id("share-status")).to_have_attribute("data-status", "delivered")
    expect(page.get_by_test_id("attempts")).to_contain_text("201")
    expect(page.get_by_test_id("payload")).to_contain_text("PSEUDED")
    if os.environ.get("PARTNERS_SCREENSHOT"):
        page.screenshot(path=os.environ["PARTNERS_SCREENSHOT"], full_page=True)
    assert ExternalRareCase.objects.filter(share_id=share.share_id).count() == 1
