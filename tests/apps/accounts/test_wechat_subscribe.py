"""Subscribe messages against the loopback fake of WeChat's API."""

import pytest

from apps.accounts.wechat_subscribe import access_token, send_subscribe_message
from apps.core.exceptions import UpstreamUnavailableError

TEMPLATE = "tmpl-booking"


def test_a_message_with_quota_is_delivered_once(fake_wechat):
    # Given: the user allowed one message of this template
    fake_wechat.grant_subscription("o-user", TEMPLATE, times=1)

    # When
    first = send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "心内科 王医生"})
    second = send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "again"})

    # Then
    assert first.sent and first.msgid
    assert (second.sent, second.reason) == (False, "no_quota")
    assert [m["data"] for m in fake_wechat.sent] == [{"thing1": {"value": "心内科 王医生"}}]


def test_thing_values_are_cut_to_wechats_limit(fake_wechat):
    fake_wechat.grant_subscription("o-user", TEMPLATE)

    send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "x" * 40, "time2": "2026-11-22 08:00"})

    assert fake_wechat.sent[0]["data"] == {"thing1": {"value": "x" * 20}, "time2": {"value": "2026-11-22 08:00"}}


def test_the_access_token_is_fetched_once_and_shared(fake_wechat):
    fake_wechat.grant_subscription("o-user", TEMPLATE, times=3)

    for _ in range(3):
        send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "hi"})

    assert [r["path"] for r in fake_wechat.requests].count("/cgi-bin/token") == 1


def test_an_expired_token_is_renewed_and_the_message_still_goes(fake_wechat):
    # Given: a cached token that WeChat no longer accepts
    fake_wechat.grant_subscription("o-user", TEMPLATE)
    access_token()
    fake_wechat.expire_tokens()

    # When
    result = send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "hi"})

    # Then
    assert result.sent
    assert [r["path"] for r in fake_wechat.requests].count("/cgi-bin/token") == 2


def test_wechat_busy_raises_so_the_task_retries(fake_wechat):
    fake_wechat.grant_subscription("o-user", TEMPLATE)
    fake_wechat.fail_next_sends(1)

    with pytest.raises(UpstreamUnavailableError) as error:
        send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "hi"})

    assert error.value.code == "wechat_busy"
    assert send_subscribe_message(openid="o-user", template_id=TEMPLATE, data={"thing1": "hi"}).sent


def test_unreachable_wechat_raises_unavailable(settings):
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wx", "secret"

    with pytest.raises(UpstreamUnavailableError) as error:
        send_subscribe_message(openid="o", template_id=TEMPLATE, data={})

    assert error.value.code == "wechat_unavailable"


def test_not_configured_is_a_clear_error(settings):
    settings.WECHAT_APP_ID = ""

    with pytest.raises(UpstreamUnavailableError) as error:
        access_token()

    assert error.value.code == "wechat_not_configured"
