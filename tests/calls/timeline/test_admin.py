"""The contact's card in the admin: the timeline below the fields, its pages, its buttons, the
summary under the title, and queries that do not grow with the client's calls."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import CallResult, Recording
from contacts.models import Contact
from tests.calls.timeline.conftest import (
    AGENT_RIGHTS,
    make_call,
    make_callback,
    make_contact,
    staff,
)
from tests.html import tags

pytestmark = pytest.mark.django_db

PLACE = "/admin/calls/callattempt/place/"


def card_url(contact: Contact) -> str:
    return f"/admin/contacts/contact/{contact.pk}/change/"


def rows(response) -> list[dict[str, str]]:  # noqa: ANN001
    return [t for t in tags(response, "tr") if "xvb-entry" in t.get("class", "")]


def buttons(response) -> list[str]:  # noqa: ANN001
    """The numbers the page's click-to-call buttons call, in order."""
    return [b["value"] for b in tags(response, "button") if b.get("formaction") == PLACE]


def history(contact: Contact, calls: int) -> None:
    """`calls` calls of every kind: answered with a result, note and recording, missed with
    callbacks (one closed, the newest open), outgoing."""
    result, _ = CallResult.objects.get_or_create(name="Продажа")
    agent = contact.responsible
    phone = contact.phones.get().number
    closed_missed = None
    for n in range(calls):
        kind = n % 3
        if kind == 0:
            call = make_call(contact, 10 * n + 5, agent=agent, result=result, note="Позвонить",
                             record_link=f"https://pbx.example/r/{n}.mp3", phone=phone)
            Recording.objects.create(call=call, source_url=call.record_link)
        elif kind == 1:
            missed = make_call(contact, 10 * n + 5, outcome="missed", phone=phone)
            if closed_missed is None:
                make_callback(missed)  # the newest missed: its callback is open
                closed_missed = missed
            else:
                reached = make_call(contact, 10 * n, direction="out", phone=phone)
                make_callback(missed, closed_by=reached)
        else:
            make_call(contact, 10 * n + 5, direction="out", outcome="no_answer", agent=agent,
                      phone=phone)


def test_the_card_shows_the_timeline_newest_first_with_call_back_on_missed_calls(client, anna):
    contact = make_contact(responsible=anna.agent)
    answered = make_call(contact, 90, agent=anna.agent, note="Просил счёт")
    missed = make_call(contact, 60, outcome="missed")
    make_callback(missed, agent=anna.agent)
    outgoing = make_call(contact, 10, direction="out", agent=anna.agent)
    client.force_login(anna)

    page = client.get(card_url(contact))

    assert page.status_code == 200
    kinds = [r["class"].split()[1] for r in rows(page)]
    assert kinds == ["xvb-entry-call", "xvb-entry-callback", "xvb-entry-call",
                     "xvb-entry-call", "xvb-entry-created"]
    calls = [row["entry"].call for row in page.context["timeline"]["rows"]
             if row["entry"].kind == "call"]
    assert calls == [outgoing, missed, answered]
    # "Call" by the number (click-to-call's), then "Call back" on the missed call only.
    assert buttons(page) == [contact.phones.get().number, missed.phone]
    assert "Просил счёт" in page.content.decode()


def test_who_may_not_place_calls_gets_no_buttons(client):
    viewer = staff("viewer", "view_contact", "view_call")
    contact = make_contact()
    make_call(contact, 60, outcome="missed")
    client.force_login(viewer)

    page = client.get(card_url(contact))

    assert len(rows(page)) == 2
    assert buttons(page) == []


def test_who_may_not_see_the_call_log_gets_the_contact_without_its_calls(client):
    clerk = staff("clerk", "view_contact", "change_contact")
    contact = make_contact()
    make_call(contact, 60, note="secret note")
    client.force_login(clerk)

    page = client.get(card_url(contact))

    assert page.status_code == 200
    assert rows(page) == []
    assert 'id="timeline"' not in page.content.decode()
    assert "secret note" not in page.content.decode()


def test_the_summary_under_the_title(client, anna):
    contact = make_contact(responsible=anna.agent, lead=True)
    missed = make_call(contact, 60, outcome="missed")
    callback = make_callback(missed, agent=anna.agent)
    last = make_call(contact, 10, direction="out", outcome="no_answer")
    client.force_login(anna)

    page = client.get(card_url(contact))

    summary = page.content.decode().split('id="card-summary"')[1].split("</dl>")[0]
    assert "100 Anna" in summary
    assert "Lead" in summary
    assert f'/admin/calls/call/{last.pk}/change/' in summary
    assert "outgoing, no answer" in summary
    assert f'1: <a href="/admin/calls/callback/{callback.pk}/change/">' in summary


def test_the_pages_follow_one_another_and_keep_the_change_lists_filters(client, anna):
    contact = make_contact(minutes_ago=10_000)
    calls = [make_call(contact, n + 1) for n in range(25)]
    client.force_login(anna)
    filters = {"_changelist_filters": "q=Иван"}

    first = client.get(card_url(contact), filters)
    older_link = next(a["href"] for a in tags(first, "a") if "xvb-older" in a.get("class", ""))
    second = client.get(older_link)
    newer_link = next(a["href"] for a in tags(second, "a") if "xvb-newer" in a.get("class", ""))
    back = client.get(newer_link)

    def shown(page) -> list:  # noqa: ANN001
        return [r["entry"].call for r in page.context["timeline"]["rows"]
                if r["entry"].kind == "call"]

    assert shown(first) == calls[:20]
    assert shown(second) == calls[20:]
    assert shown(back) == calls[:20]
    assert "_changelist_filters=q%3D" in older_link and older_link.endswith("#timeline")
    assert not [a for a in tags(first, "a") if "xvb-newer" in a.get("class", "")]


def test_the_form_still_saves_from_a_page_of_the_timeline(client, anna):
    contact = make_contact(minutes_ago=10_000)
    for n in range(25):
        make_call(contact, n + 1)
    client.force_login(anna)
    first = client.get(card_url(contact))
    older = first.context["timeline"]["older_url"]
    phone = contact.phones.get()

    saved = client.post(older, {
        "name": "Иван Сидоров", "company": "", "email": "", "notes": "",
        "phones-TOTAL_FORMS": "2", "phones-INITIAL_FORMS": "1", "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000", "phones-0-id": str(phone.pk),
        "phones-0-contact": str(contact.pk), "phones-0-number": phone.number,
        "phones-1-id": "", "phones-1-contact": str(contact.pk), "phones-1-number": "",
        "_continue": "Save",
    })

    assert saved.status_code == 302, saved.context and saved.context["errors"]
    contact.refresh_from_db()
    assert contact.name == "Иван Сидоров"


@pytest.mark.parametrize("older", [False, True], ids=["first page", "an older page"])
def test_the_card_makes_as_many_queries_at_60_calls_as_at_3(client, older):
    supervisor = staff("sue", *AGENT_RIGHTS, "listen_all_recordings", extension="100")
    client.force_login(supervisor)
    counts = []
    for calls, phone in ((3, "+79201110003"), (60, "+79201110060")):
        contact = make_contact(minutes_ago=100_000, responsible=supervisor.agent, phone=phone)
        history(contact, calls)
        query = {}
        if older:
            first = client.get(card_url(contact))
            query = {"older": first.context["timeline"]["rows"][1]["entry"].position.token}
        client.get(card_url(contact), query)  # the session and caches settled
        with CaptureQueriesContext(connection) as queries:
            page = client.get(card_url(contact), query)
        assert page.status_code == 200
        assert rows(page)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_recording_plays_on_the_card_for_who_may_listen(client, anna):
    contact = make_contact()
    hers = make_call(contact, 30, agent=anna.agent, record_link="https://pbx.example/r/1.mp3")
    make_call(contact, 20, record_link="https://pbx.example/r/2.mp3")  # not hers
    Recording.objects.create(call=hers, source_url=hers.record_link,
                             status=Recording.Status.ARCHIVED, archived_at=hers.started_at
                             + timedelta(minutes=5))
    client.force_login(anna)

    page = client.get(card_url(contact))

    assert [a["src"] for a in tags(page, "audio")] == [f"/recordings/{hers.pk}/"]
