"""The "PBX integration" page's reading of the journal: the diagnosis, the last request and
the last day's problems and counts, and the service on its own."""
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from calls.integration.services import MAX_PROBLEMS, RECENT, integration_status
from calls.models import PbxRequest
from tests.calls.integration.helpers import (
    NO_CODE,
    PAGE,
    WRONG_CODE,
    age,
    counts,
    diagnosis,
    page,
    problems,
    webhook,
)
from tests.captures import CONTACT, INCOMING
from tests.html import tags

pytestmark = pytest.mark.django_db


@pytest.fixture
def unthrottled(settings) -> None:  # noqa: ANN001
    """For tests sending more wrong codes from one address than the throttle lets through."""
    settings.PBX_THROTTLE_FAILURES = 0


# --- the diagnosis ----------------------------------------------------------------------------

def test_empty_journal_says_no_request_yet(admin_client):
    response = page(admin_client)

    assert diagnosis(response) == "no_requests"
    assert "No request from the PBX yet" in response.content.decode()
    assert "paste the WebHook URL into the PBX" in response.content.decode()


def test_unset_access_code_comes_first(admin_client, client, settings):
    settings.PBX_ACCESS_CODE = ""

    assert webhook(client, CONTACT) == 403
    response = page(admin_client)

    assert diagnosis(response) == "no_access_code"
    assert "PBX_ACCESS_CODE is not set in the CRM" in response.content.decode()


def test_wrong_access_code_is_the_headline(admin_client, client):
    assert webhook(client, WRONG_CODE) == 403

    response = page(admin_client)

    assert diagnosis(response) == "wrong_access_code"
    content = response.content.decode()
    assert "last request had a wrong access code" in content
    assert "set the same access code in the PBX and in PBX_ACCESS_CODE" in content
    headline = [attrs for attrs in tags(response, "li") if "data-code" in attrs]
    assert headline[0]["class"] == "error"
    assert 'class="messagelist"' in content


def test_missing_access_code_is_the_same_headline(admin_client, client):
    assert webhook(client, NO_CODE) == 403

    assert diagnosis(page(admin_client)) == "wrong_access_code"


def test_wrong_access_code_says_how_many_in_a_row(admin_client, client):
    assert webhook(client, INCOMING) == 200
    for _ in range(3):
        assert webhook(client, WRONG_CODE) == 403

    response = page(admin_client)

    assert response.context["status"].refused_in_a_row == 3
    assert "Requests refused in a row: 3; the first at" in response.content.decode()


@pytest.mark.usefixtures("unthrottled")
def test_a_run_of_refusals_is_read_only_so_far(admin_client, client):
    for _ in range(RECENT + 2):
        assert webhook(client, WRONG_CODE) == 403

    response = page(admin_client)

    assert response.context["status"].refused_in_a_row == RECENT
    assert f"Requests refused in a row: {RECENT} or more." in response.content.decode()


def test_a_throttled_pbx_is_the_headline_and_its_429s_are_refusals(admin_client, client, settings):
    settings.PBX_THROTTLE_FAILURES = 2
    assert [webhook(client, WRONG_CODE) for _ in range(2)] == [403, 403]
    assert webhook(client, CONTACT) == 429

    response = page(admin_client)

    assert diagnosis(response) == "throttled"
    assert response.context["status"].refused_in_a_row == 3
    assert problems(response)[0][:2] == ("throttled", 429)


def test_refused_while_the_code_was_unset_is_told_apart(admin_client, client, settings):
    settings.PBX_ACCESS_CODE = ""
    assert webhook(client, CONTACT) == 403
    settings.PBX_ACCESS_CODE = "10019"

    assert diagnosis(page(admin_client)) == "refused_while_unset"


def test_fixed_access_code_clears_the_headline_but_keeps_the_refusal_listed(admin_client, client):
    assert webhook(client, WRONG_CODE) == 403
    assert webhook(client, CONTACT) == 200

    response = page(admin_client)

    assert diagnosis(response) == "working"
    assert problems(response) == [("rejected", 403, "wrong access code")]


def test_failed_processing_is_the_headline(admin_client, client, monkeypatch):
    def broken(**kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("calls.pbx.webhook.record_event", broken)
    assert webhook(client, INCOMING) == 500

    response = page(admin_client)

    assert diagnosis(response) == "last_failed"
    assert problems(response) == [("failed", 500, "RuntimeError: database on fire")]
    assert "RuntimeError: database on fire" in response.content.decode()


def test_invalid_request_is_the_headline(admin_client, client):
    assert client.get("/crm-api").status_code == 405

    response = page(admin_client)

    assert diagnosis(response) == "last_invalid"
    assert [outcome for outcome, _, _ in problems(response)] == ["invalid"]


# --- the journal's last request and last day --------------------------------------------------

def test_last_request_links_to_its_journal_row(admin_client, client):
    assert webhook(client, INCOMING) == 200
    assert webhook(client, WRONG_CODE) == 403
    last = PbxRequest.objects.get(outcome="rejected")

    response = page(admin_client)

    assert response.context["status"].last_request == last
    hrefs = [attrs.get("href") for attrs in tags(response, "a")]
    assert reverse("admin:calls_pbxrequest_change", args=[last.pk]) in hrefs


def test_problems_link_to_their_journal_rows(admin_client, client):
    assert webhook(client, WRONG_CODE) == 403
    assert webhook(client, INCOMING) == 200
    rejected = PbxRequest.objects.get(outcome="rejected")

    response = page(admin_client)

    hrefs = [attrs.get("href") for attrs in tags(response, "a")]
    assert reverse("admin:calls_pbxrequest_change", args=[rejected.pk]) in hrefs
    assert "wrong access code" in response.content.decode()


def test_counts_per_outcome_link_to_the_filtered_journal(admin_client, client):
    assert webhook(client, INCOMING) == 200
    assert webhook(client, INCOMING) == 200
    assert webhook(client, WRONG_CODE) == 403

    response = page(admin_client)

    assert counts(response) == {
        "received": 0, "accepted": 1, "duplicate": 1, "ignored": 0, "rejected": 1,
        "throttled": 0, "invalid": 0, "failed": 0,
    }
    assert response.context["status"].total == 3
    hrefs = [attrs.get("href") for attrs in tags(response, "a")]
    journal = reverse("admin:calls_pbxrequest_changelist")
    assert f"{journal}?outcome__exact=rejected" in hrefs
    filtered = admin_client.get(journal, {"outcome__exact": "rejected"})
    assert [entry.outcome for entry in filtered.context["cl"].result_list] == ["rejected"]


def test_failures_older_than_a_day_are_not_listed(admin_client, client):
    assert webhook(client, WRONG_CODE) == 403
    age(PbxRequest.objects.get(), timedelta(hours=25))
    assert webhook(client, INCOMING) == 200

    response = page(admin_client)

    assert problems(response) == []
    assert counts(response)["rejected"] == 0
    assert response.context["status"].problem_count == 0
    assert "wrong access code" not in response.content.decode()


@pytest.mark.usefixtures("unthrottled")
def test_problems_are_capped_newest_first(admin_client, client):
    for _ in range(MAX_PROBLEMS + 3):
        assert webhook(client, WRONG_CODE) == 403
    newest = PbxRequest.objects.order_by("-received_at", "-id").values_list("pk", flat=True)

    response = page(admin_client)

    status = response.context["status"]
    assert [entry.pk for entry in status.problems] == list(newest[:MAX_PROBLEMS])
    assert status.problem_count == MAX_PROBLEMS + 3
    assert f"The newest {MAX_PROBLEMS} of {MAX_PROBLEMS + 3} are shown." in (
        response.content.decode()
    )


def test_times_are_shown_in_the_active_time_zone(admin_client, client, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    assert webhook(client, WRONG_CODE) == 403
    entry = PbxRequest.objects.get()
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    PbxRequest.objects.filter(pk=entry.pk).update(received_at=moment)

    content = page(admin_client).content.decode()

    moscow = (moment.astimezone(UTC) + timedelta(hours=3)).replace(tzinfo=None)  # UTC+3
    assert date_format(moscow, "DATETIME_FORMAT") in content  # in the user's locale
    assert "Europe/Moscow" in content


def test_times_are_written_the_russian_way_for_russian_users(admin_client, client):
    assert webhook(client, WRONG_CODE) == 403
    moment = timezone.localtime(PbxRequest.objects.get().received_at)

    content = admin_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    with translation.override("ru"):
        assert date_format(moment, "DATETIME_FORMAT") in content
    assert " г. " in content


@pytest.mark.usefixtures("unthrottled")
def test_queries_are_bounded(admin_client, client, django_assert_max_num_queries):
    for _ in range(MAX_PROBLEMS + 10):
        webhook(client, WRONG_CODE)
        webhook(client, INCOMING)

    with django_assert_max_num_queries(8):
        assert page(admin_client).status_code == 200


# --- the service on its own -------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def journal_row(minutes: int, outcome: str, status: int, error: str = "") -> PbxRequest:
    return PbxRequest.objects.create(
        received_at=T0 + timedelta(minutes=minutes), method="POST", cmd="contact",
        outcome=outcome, response_status=status, error=error,
    )


def test_window_is_counted_back_from_now():
    journal_row(0, "rejected", 403, "wrong access code")
    journal_row(60, "accepted", 200)

    day_later = integration_status(webhook_url="u", now=T0 + timedelta(hours=24, minutes=30))
    same_day = integration_status(webhook_url="u", now=T0 + timedelta(hours=2))

    assert [entry.outcome for entry in day_later.problems] == []
    assert day_later.total == 1
    assert [entry.outcome for entry in same_day.problems] == ["rejected"]
    assert same_day.total == 2


def test_the_run_of_refusals_ends_at_the_first_request_that_went_through():
    journal_row(0, "rejected", 403, "wrong access code")
    journal_row(1, "accepted", 200)
    first = journal_row(2, "rejected", 403, "wrong access code")
    journal_row(3, "rejected", 403, "missing access code")

    status = integration_status(webhook_url="u", now=T0 + timedelta(minutes=5))

    assert status.refused_in_a_row == 2
    assert status.refused_since == first.received_at
    assert status.diagnosis.code == "wrong_access_code"
