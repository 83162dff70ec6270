"""The PBX request journal in the admin: listing, filters, search, read-only rows, reprocessing."""

import pytest
from django.test import Client

from calls.models import Call, PbxRequest
from tests.calls.test_admin import JOURNAL, webhook
from tests.captures import CALLID, CONTACT, INCOMING
from tests.html import link_targets

pytestmark = pytest.mark.django_db


# --- the journal ------------------------------------------------------------------------------


@pytest.fixture
def journal(client: Client) -> None:
    """An accepted event, an answered lookup and a rejected request, through the real view."""
    assert webhook(client, INCOMING) == 200
    assert webhook(client, CONTACT) == 200
    assert webhook(client, CONTACT.replace(b"10019", b"99999")) == 403


def outcomes(response) -> list[tuple[str, str]]:  # noqa: ANN001
    return [(entry.cmd, entry.outcome) for entry in response.context["cl"].result_list]


def test_journal_changelist_renders_newest_first(admin_client, journal):
    response = admin_client.get(JOURNAL)

    assert response.status_code == 200
    assert outcomes(response) == [
        ("contact", "rejected"), ("contact", "accepted"), ("event", "accepted"),
    ]


def test_journal_filter_by_outcome(admin_client, journal):
    response = admin_client.get(JOURNAL, {"outcome__exact": "rejected"})

    assert outcomes(response) == [("contact", "rejected")]


def test_journal_filter_by_cmd(admin_client, journal):
    response = admin_client.get(JOURNAL, {"cmd": "event"})

    assert outcomes(response) == [("event", "accepted")]


def test_journal_search_by_phone_in_another_format(admin_client, journal):
    response = admin_client.get(JOURNAL, {"q": "8 (920) 111-96-13"})

    assert len(response.context["cl"].result_list) == 3


def test_journal_search_finds_a_lookup_sent_in_national_form(admin_client, journal, client):
    assert webhook(client, CONTACT.replace(b"phone=79201119613", b"phone=89201119613")) == 200

    response = admin_client.get(JOURNAL, {"q": "+7 920 111-96-13"})

    assert len(response.context["cl"].result_list) == 4


def test_journal_row_page_is_read_only(admin_client, journal):
    entry = PbxRequest.objects.get(cmd="event")

    page = admin_client.get(f"{JOURNAL}{entry.pk}/change/")
    post = admin_client.post(f"{JOURNAL}{entry.pk}/change/", {"outcome": "ignored"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "[redacted]" in page.content.decode()
    assert post.status_code == 403
    assert admin_client.get(f"{JOURNAL}{entry.pk}/delete/").status_code == 403
    assert admin_client.get(f"{JOURNAL}add/").status_code == 403
    entry.refresh_from_db()
    assert entry.outcome == "accepted"


def test_journal_shows_a_refused_script_link_as_text_only(admin_client, client):
    body = (
        "access_code=10019&cmd=event&event=COMPLETED&status=Success&callid=E-evil"
        "&phone=79201119613&record_link=javascript%3Aalert(1)"
    )
    assert webhook(client, body) == 200
    entry = PbxRequest.objects.get(callid="E-evil")

    response = admin_client.get(f"{JOURNAL}{entry.pk}/change/")

    assert "alert(1)" in response.content.decode()
    assert not [url for url in link_targets(response) if "alert(1)" in url]


def test_journal_changelist_queries_are_bounded(admin_client, client,
                                                django_assert_max_num_queries):
    for number in range(50):
        webhook(client, INCOMING.replace(CALLID.encode(), f"call-{number:02}".encode()))

    with django_assert_max_num_queries(10):
        response = admin_client.get(JOURNAL)

    assert len(response.context["cl"].result_list) == 50


def reprocess(admin_client: Client, *entries: PbxRequest):  # noqa: ANN201
    return admin_client.post(
        JOURNAL,
        {"action": "reprocess_failed", "_selected_action": [entry.pk for entry in entries]},
        follow=True,
    )


@pytest.mark.django_db(transaction=True)
def test_reprocess_rebuilds_a_failed_call(admin_client, pbx_post, monkeypatch):
    def broken(**kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("calls.pbx.webhook.record_event", broken)
    assert pbx_post(INCOMING).status == 500
    monkeypatch.undo()
    failed = PbxRequest.objects.get()
    assert failed.outcome == "failed"
    assert "database on fire" in failed.error
    assert not Call.objects.exists()

    response = reprocess(admin_client, failed)

    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.outcome == "accepted"
    assert failed.error == ""
    call = Call.objects.get(callid="DVzqd2I5zmRev0vLvxVevw")
    assert (call.direction, call.phone, call.outcome) == ("in", "+79201119613", "in_progress")
    assert failed.call == call
    assert call.events.get().request == failed


def test_reprocess_skips_rows_that_did_not_fail(admin_client, journal):
    entries = list(PbxRequest.objects.all())
    before = [(entry.pk, entry.outcome, entry.processed_at) for entry in entries]

    response = reprocess(admin_client, *entries)

    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1
    assert "3" in messages[0]
    after = [(entry.pk, entry.outcome, entry.processed_at) for entry in PbxRequest.objects.all()]
    assert sorted(after) == sorted(before)
    assert Call.objects.count() == 1
