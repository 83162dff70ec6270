"""Wrong access codes throttled per source, shared through the database, over real HTTP."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls.models import Call, PbxRequest, WebhookThrottle
from calls.pbx import throttle
from calls.pbx.journal import WebhookRequest
from calls.pbx.webhook import handle_webhook
from tests.captures import CALLID, CONTACT, INCOMING
from tests.conftest import lwp_request, send_raw

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = INCOMING.replace(b"10019", b"10018")
NO_CODE = INCOMING.replace(b"access_code=10019&", b"")
ATTACKER = "198.51.100.7"
PBX = "203.0.113.5"


@pytest.fixture(autouse=True)
def limits(settings):  # noqa: ANN001, ANN201
    settings.PBX_THROTTLE_FAILURES = 3
    settings.PBX_THROTTLE_MINUTES = 10
    settings.PBX_THROTTLE_JOURNAL_ROWS = 4


@pytest.fixture
def behind_proxy(settings):  # noqa: ANN001, ANN201
    """Behind one trusted proxy: X-Forwarded-For says which client each request is from."""
    settings.TRUSTED_PROXY_COUNT = 1


def post_from(pbx_post, address: str, body: bytes):  # noqa: ANN001, ANN201
    return pbx_post(body, extra_headers=f"X-Forwarded-For: {address}\r\n")


def handle(body: bytes, address: str = ATTACKER):  # noqa: ANN201
    """The webhook service itself, for what HTTP adds nothing to."""
    return handle_webhook(
        WebhookRequest(
            method="POST", body=body, oversized=False,
            content_type="application/x-www-form-urlencoded", meta_headers={},
            remote_addr=address,
        )
    )


# --- over HTTP -------------------------------------------------------------------------------


def test_failures_below_the_limit_are_answered_403_and_the_right_code_still_passes(pbx_post):
    assert [pbx_post(WRONG).status for _ in range(2)] == [403, 403]

    response = pbx_post(INCOMING)

    assert response.status == 200
    assert Call.objects.get().callid == CALLID


def test_after_the_limit_a_request_gets_429_with_a_json_error_and_retry_after(pbx_post):
    for _ in range(3):
        pbx_post(WRONG)

    response = pbx_post(WRONG)

    assert response.status == 429
    assert "too many wrong access codes" in response.json()["error"]
    assert 1 <= int(response.headers["retry-after"]) <= 600


def test_a_throttled_source_is_refused_even_with_the_right_code(pbx_post):
    """Otherwise a 200 among the 429s would tell a guesser it had found the code."""
    for _ in range(3):
        pbx_post(WRONG)

    response = pbx_post(INCOMING)

    assert response.status == 429
    assert not Call.objects.exists()
    entry = PbxRequest.objects.filter(outcome="throttled").get()
    assert entry.callid == CALLID  # what was received is kept
    assert "10019" not in entry.body


def test_missing_codes_count_as_failures(pbx_post):
    for _ in range(3):
        assert pbx_post(NO_CODE).status == 403

    assert pbx_post(INCOMING).status == 429


def test_the_pbx_is_not_slowed_by_another_sources_failures(pbx_post, behind_proxy):
    for _ in range(10):
        post_from(pbx_post, ATTACKER, WRONG)
    assert post_from(pbx_post, ATTACKER, INCOMING).status == 429

    assert post_from(pbx_post, PBX, INCOMING).status == 200
    assert post_from(pbx_post, PBX, CONTACT).status == 200
    assert Call.objects.get().callid == CALLID


def test_the_count_is_in_the_database_for_every_app_server(pbx_post, behind_proxy):
    for _ in range(3):
        post_from(pbx_post, ATTACKER, WRONG)

    row = WebhookThrottle.objects.get()
    assert (row.source, row.failures) == (ATTACKER, 3)


def test_failures_sent_at_once_are_all_counted(live_server, behind_proxy):
    """Real threads, each with its own connection: no failure is lost to a race."""
    senders = 12
    start = threading.Barrier(senders)

    def post(_: int) -> int:
        request = lwp_request(WRONG, extra_headers=f"X-Forwarded-For: {ATTACKER}\r\n")
        start.wait(timeout=30)
        return send_raw(live_server.url, request, timeout=60).status

    with ThreadPoolExecutor(max_workers=senders) as pool:
        statuses = list(pool.map(post, range(senders)))

    assert set(statuses) <= {403, 429}
    row = WebhookThrottle.objects.get()
    # Those that passed the throttle's read before the limit was reached each counted once.
    assert row.failures == statuses.count(403)
    assert row.failures >= 3
    # The test client's own address (127.0.0.1) is not throttled.
    assert send_raw(live_server.url, lwp_request(INCOMING)).status == 200


# --- the service ------------------------------------------------------------------------------


def test_concurrent_failures_on_separate_connections_each_add_one():
    senders = 16
    start = threading.Barrier(senders)
    now = timezone.now()

    def fail(_: int) -> int:
        try:
            start.wait(timeout=30)
            return throttle.record_failure(source=ATTACKER, now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=senders) as pool:
        counts = list(pool.map(fail, range(senders)))

    assert sorted(counts) == list(range(1, senders + 1))
    assert WebhookThrottle.objects.get().failures == senders


def test_the_window_ends_and_the_next_failure_starts_a_new_one():
    start = timezone.now()
    for _ in range(3):
        throttle.record_failure(source=ATTACKER, now=start)
    assert throttle.retry_after(source=ATTACKER, now=start + timedelta(minutes=9)) == 60

    later = start + timedelta(minutes=10)
    assert throttle.retry_after(source=ATTACKER, now=later) is None
    assert throttle.record_failure(source=ATTACKER, now=later) == 1
    assert WebhookThrottle.objects.get().window_start == later


def test_a_throttled_request_is_answered_without_work():
    for _ in range(3):
        handle(WRONG)

    with CaptureQueriesContext(connection) as queries:
        handled = handle(INCOMING)

    assert handled.status == 429
    # The throttle's read, its refused count, the journal row: nothing else.
    assert len(queries) == 3


def test_throttled_requests_are_journaled_up_to_a_limit_then_only_counted():
    for _ in range(3):
        handle(WRONG)
    for _ in range(10):
        assert handle(INCOMING).status == 429

    assert PbxRequest.objects.filter(outcome="throttled").count() == 4
    assert WebhookThrottle.objects.get().refused == 10


def test_an_ipv6_source_is_its_64(settings):
    for host in range(1, 4):
        handle(WRONG, address=f"2001:db8:1:2::{host}")

    assert handle(INCOMING, address="2001:db8:1:2:ffff::9").status == 429
    assert handle(INCOMING, address="2001:db8:1:3::1").status == 200


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("2001:db8::1", "2001:db8::/64"),
        (None, "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_source_of(address, source):  # noqa: ANN001
    assert throttle.source_of(address) == source


def test_without_a_configured_code_nothing_is_counted(settings):
    settings.PBX_ACCESS_CODE = ""
    for _ in range(5):
        assert handle(INCOMING).status == 403

    assert not WebhookThrottle.objects.exists()


def test_zero_failures_turns_the_throttle_off(settings):
    settings.PBX_THROTTLE_FAILURES = 0
    for _ in range(5):
        handle(WRONG)

    assert handle(INCOMING).status == 200
    assert not WebhookThrottle.objects.exists()


def test_prune_journal_deletes_the_throttles_whose_window_has_ended(capsys):
    now = timezone.now()
    throttle.record_failure(source=ATTACKER, now=now - timedelta(minutes=11))
    throttle.record_failure(source=PBX, now=now)

    call_command("prune_journal")

    assert list(WebhookThrottle.objects.values_list("source", flat=True)) == [PBX]
    assert "Deleted 1 webhook throttles" in capsys.readouterr().out


def test_an_admin_lifts_a_throttle_by_deleting_its_row(admin_client):
    for _ in range(3):
        handle(WRONG)
    row = WebhookThrottle.objects.get()
    assert ATTACKER in admin_client.get(reverse("admin:calls_webhookthrottle_changelist")).text

    admin_client.post(reverse("admin:calls_webhookthrottle_delete", args=[row.pk]), {"post": "yes"})

    assert handle(INCOMING).status == 200


# --- when the throttle cannot be read ----------------------------------------------------------


def test_a_throttle_that_cannot_be_read_lets_the_code_be_compared(monkeypatch, caplog):
    """A missing table (new code before `migrate`), say: the webhook keeps working."""

    def broken(**kwargs: object) -> None:
        raise DatabaseError("relation calls_webhookthrottle does not exist")

    monkeypatch.setattr(throttle, "retry_after", broken)
    connection.ensure_connection()  # the database is there; only the throttle's read fails

    assert handle(INCOMING).status == 200
    assert handle(WRONG).status == 403
    assert "Could not read the webhook throttle" in caplog.text


@pytest.mark.parametrize(("body", "status"), [(WRONG, 403), (INCOMING, 503), (CONTACT, 200)])
def test_without_a_database_each_request_is_answered_after_one_attempt(body, status, caplog):
    from tests.calls.pbx.test_webhook_faults import database_gone

    with database_gone():
        handled = handle(body)

    assert handled.status == status
    assert caplog.text.count("the database is unreachable") == 1
