"""Subscribe messages against the loopback fake of WeChat's API."""

import pytest

from apps.accounts.wechat_subscribe import (UNAVAILABLE, SubscribeMessage, access_token, send_subscribe_message,
                                            send_subscribe_messages)
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


def _messages(openids, template=TEMPLATE):
    return [SubscribeMessage(openid=openid, template_id=template, data={"thing1": f"提醒 {openid}"},
                             page=f"pages/x?id={openid}") for openid in openids]


def test_bulk_sends_answer_per_message_in_order(fake_wechat):
    # Given quota for every other user
    openids = [f"o-bulk-{n}" for n in range(200)]
    for openid in openids[::2]:
        fake_wechat.grant_subscription(openid, TEMPLATE)

    results = send_subscribe_messages(_messages(openids), concurrency=16)

    assert [result.sent for result in results] == [n % 2 == 0 for n in range(200)]
    assert {result.reason for result in results[1::2]} == {"no_quota"}
    assert sorted(m["touser"] for m in fake_wechat.sent) == sorted(openids[::2])
    assert fake_wechat.sent[0]["data"]["thing1"]["value"].startswith("提醒")


def test_bulk_sends_renew_an_expired_token_once_for_all_messages(fake_wechat):
    openids = [f"o-token-{n}" for n in range(100)]
    for openid in openids:
        fake_wechat.grant_subscription(openid, TEMPLATE)
    access_token()
    fake_wechat.expire_tokens()

    results = send_subscribe_messages(_messages(openids), concurrency=32)

    assert all(result.sent for result in results)
    assert [r["path"] for r in fake_wechat.requests].count("/cgi-bin/token") == 2
    assert len(fake_wechat.sent) == 100


def test_bulk_sends_retry_busy_once_then_give_up(fake_wechat):
    # Given WeChat busy for the next three answers: two messages, one sent alone
    fake_wechat.grant_subscription("o-a", TEMPLATE)
    fake_wechat.fail_next_sends(3)

    first = send_subscribe_messages(_messages(["o-a"]))
    second = send_subscribe_messages(_messages(["o-a"]))

    # Then busy twice is "unavailable" (nothing was sent), busy once then sent is sent
    assert (first[0].sent, first[0].reason) == (False, UNAVAILABLE)
    assert second[0].sent
    assert len(fake_wechat.sent) == 1


def test_a_bulk_send_without_an_answer_is_not_repeated(fake_wechat, settings):
    # Given WeChat delivers the message but answers after our timeout
    settings.WECHAT_TIMEOUT_SECONDS = 0.3
    fake_wechat.grant_subscription("o-late", TEMPLATE, times=3)
    fake_wechat.delay_next_sends(1, 1.0)

    result = send_subscribe_messages(_messages(["o-late"]))[0]

    assert (result.sent, result.reason) == (False, UNAVAILABLE)
    assert [m["touser"] for m in fake_wechat.sent] == ["o-late"]


def test_bulk_sends_to_an_unreachable_wechat_are_unavailable(settings):
    settings.WECHAT_API_BASE_URL = "http://127.0.0.1:9"
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = "wx", "secret"

    results = send_subscribe_messages(_messages(["o-1", "o-2"]))

    assert [(result.sent, result.reason) for result in results] == [(False, UNAVAILABLE)] * 2
