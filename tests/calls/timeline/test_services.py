"""The timeline's reads: newest first, paged by position, callbacks and the contact's creation
among the calls, and what the user may do with each call."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from calls.models import Callback, Recording
from calls.timeline.services import (
    CallbackEntry,
    CallEntry,
    CreatedEntry,
    Position,
    card_summary,
    lead_call,
    timeline_page,
)
from contacts.models import Agent
from tests.calls.timeline.conftest import (
    at,
    make_call,
    make_callback,
    make_contact,
    staff,
)

pytestmark = pytest.mark.django_db


def page(contact, user=None, **options):  # noqa: ANN001, ANN201
    return timeline_page(contact=contact, user=user or AnonymousUser(),
                         may_place_calls=options.pop("may_place_calls", False), **options)


def walk(contact, *, size: int) -> list[list[tuple[str, int]]]:  # noqa: ANN001
    """Every page, following the older links, as (kind, pk) lists."""
    pages, position = [], None
    while True:
        shown = page(contact, older=position, size=size)
        pages.append([key(entry) for entry in shown.entries])
        if shown.older is None:
            return pages
        position = shown.older


def key(entry) -> tuple[str, int]:  # noqa: ANN001
    if isinstance(entry, CallEntry):
        return "call", entry.call.pk
    if isinstance(entry, CallbackEntry):
        return "callback", entry.callback.pk
    return "created", entry.contact_id


def test_calls_callbacks_and_the_creation_newest_first():
    contact = make_contact(minutes_ago=100)
    first = make_call(contact, 90)
    missed = make_call(contact, 60, outcome="missed")
    callback = make_callback(missed)
    latest = make_call(contact, 10, direction="out")
    make_call(None, 5, phone="+79990000000")  # somebody else's

    entries = page(contact).entries

    assert [key(e) for e in entries] == [
        ("call", latest.pk), ("callback", callback.pk), ("call", missed.pk),
        ("call", first.pk), ("created", contact.pk),
    ]


def test_a_callback_opened_at_its_missed_calls_instant_comes_after_it():
    contact = make_contact()
    missed = make_call(contact, 60, outcome="missed")
    callback = make_callback(missed)
    callback.created_at = missed.started_at
    callback.save()

    assert [key(e) for e in page(contact).entries][:2] == [
        ("callback", callback.pk), ("call", missed.pk)]


def test_pages_of_twenty_older_and_newer():
    contact = make_contact(minutes_ago=1000)
    calls = [make_call(contact, minutes_ago=n + 1) for n in range(45)]  # calls[0] newest

    first = page(contact)
    second = page(contact, older=first.older)
    third = page(contact, older=second.older)

    assert [e.call for e in first.entries] == calls[:20]
    assert first.newer is None
    assert [e.call for e in second.entries] == calls[20:40]
    assert [key(e) for e in third.entries] == [
        *(("call", c.pk) for c in calls[40:]), ("created", contact.pk)]
    assert third.older is None
    assert [e.call for e in page(contact, newer=third.newer).entries] == calls[20:40]
    back = page(contact, newer=second.newer)
    assert [e.call for e in back.entries] == calls[:20]
    assert back.newer is None


def test_newer_from_near_the_top_gives_the_full_first_page():
    contact = make_contact(minutes_ago=1000)
    calls = [make_call(contact, minutes_ago=n + 1) for n in range(30)]

    shown = page(contact, newer=Position(calls[5].started_at, 1, calls[5].pk))

    assert [e.call for e in shown.entries] == calls[:20]
    assert shown.newer is None and shown.older is not None


def test_entries_of_one_instant_are_neither_lost_nor_repeated_across_pages():
    contact = make_contact(minutes_ago=30)
    same = [make_call(contact, minutes_ago=10) for _ in range(7)]
    missed = make_call(contact, minutes_ago=10, outcome="missed")
    callback = make_callback(missed)
    callback.created_at = missed.started_at
    callback.save()

    pages = walk(contact, size=3)

    flat = [entry for shown in pages for entry in shown]
    assert flat == [("callback", callback.pk),
                    *(("call", c.pk) for c in sorted([*same, missed], key=lambda c: -c.pk)),
                    ("created", contact.pk)]
    assert [len(shown) for shown in pages] == [3, 3, 3, 1]


def test_a_position_token_round_trips_and_nonsense_is_no_position():
    position = Position(at(0) + timedelta(microseconds=123), 2, 77)

    assert Position.parse(position.token) == position
    for token in (None, "", "x", "1.2", "1.9.3", "a.b.c", "9" * 40 + ".1.1"):
        assert Position.parse(token) is None


def test_a_callback_entry_tells_how_long_the_client_waited():
    contact = make_contact()
    missed = make_call(contact, 120, outcome="missed")
    reached = make_call(contact, 30, direction="out")
    closed = make_callback(missed, closed_by=reached)
    still_missed = make_call(contact, 10, outcome="no_answer")
    open_one = make_callback(still_missed)

    entries = {key(e): e for e in page(contact).entries}

    closed_entry = entries["callback", closed.pk]
    assert closed_entry.missed_at == missed.started_at
    assert closed_entry.waited_until - closed_entry.missed_at == timedelta(minutes=90)
    assert entries["callback", open_one.pk].waited_until is None


def test_the_lead_entry_names_the_call_that_made_the_lead():
    contact = make_contact(minutes_ago=50, lead=True)
    make_call(None, 70)  # an earlier call from the number
    made_it = make_call(contact, 51)
    make_call(contact, 51, direction="out")  # ours, not the caller's
    make_call(contact, 20)  # later

    entries = page(contact).entries

    created = next(e for e in entries if isinstance(e, CreatedEntry))
    assert key(entries[-1]) == ("call", made_it.pk)  # it began before the lead was made
    assert created.lead_number == contact.lead_number
    assert created.call == made_it == lead_call(contact)


def test_a_contact_made_by_hand_has_no_lead_call():
    contact = make_contact(minutes_ago=50)
    make_call(contact, 51)

    created = next(e for e in page(contact).entries if isinstance(e, CreatedEntry))

    assert created.lead_number is None and created.call is None


def test_the_player_is_for_who_may_listen_to_the_call():
    contact = make_contact()
    anna = staff("anna", "view_call", extension="100")
    boris = Agent.objects.create(extension="101")
    supervisor = staff("sue", "view_call", "listen_all_recordings")
    hers = make_call(contact, 30, agent=anna.agent, record_link="https://pbx.example/r/1.mp3")
    his = make_call(contact, 20, agent=boris, record_link="https://pbx.example/r/2.mp3")
    archived = make_call(contact, 10, agent=boris)
    Recording.objects.create(call=archived, source_url="https://pbx.example/r/3.mp3",
                             status=Recording.Status.ARCHIVED)
    silent = make_call(contact, 5, agent=anna.agent)

    def listens(user) -> dict[int, bool]:  # noqa: ANN001
        return {e.call.pk: e.may_listen for e in page(contact, user).entries
                if isinstance(e, CallEntry)}

    assert listens(anna) == {hers.pk: True, his.pk: False, archived.pk: False,
                             silent.pk: False}
    assert listens(supervisor) == {hers.pk: True, his.pk: True, archived.pk: True,
                                   silent.pk: False}
    assert not any(listens(AnonymousUser()).values())


def test_call_back_only_on_missed_incoming_calls_from_a_real_number_for_who_may_call():
    contact = make_contact()
    calls = {
        "missed": make_call(contact, 60, outcome="missed"),
        "no answer": make_call(contact, 50, outcome="no_answer"),
        "busy": make_call(contact, 45, outcome="busy"),
        "answered": make_call(contact, 40),
        "outgoing unanswered": make_call(contact, 30, direction="out", outcome="no_answer"),
        "missed, no number": make_call(contact, 20, outcome="missed", phone="anonymous"),
    }

    def call_backs(may_place_calls: bool) -> set[str]:
        entries = {e.call.pk: e for e in page(contact, may_place_calls=may_place_calls).entries
                   if isinstance(e, CallEntry)}
        return {name for name, call in calls.items() if entries[call.pk].may_call_back}

    assert call_backs(True) == {"missed", "no answer", "busy"}
    assert call_backs(False) == set()


def test_the_summary_says_whose_client_lead_or_not_last_call_and_open_callbacks():
    anna = Agent.objects.create(extension="100", name="Анна")
    contact = make_contact(lead=True, responsible=anna)
    first_missed = make_call(contact, 300, outcome="missed")
    make_callback(first_missed, closed_by=make_call(contact, 200, direction="out"))
    open_missed = make_call(contact, 100, outcome="missed")
    other_number = make_call(contact, 90, outcome="missed", phone="+79201110000")
    oldest_open = make_callback(open_missed)
    make_callback(other_number)
    last = make_call(contact, 5, direction="out", outcome="no_answer")

    summary = card_summary(contact=contact)

    assert summary.responsible == anna
    assert summary.is_lead is True
    assert summary.last_call == last
    assert summary.open_callbacks == 2
    assert summary.open_callback == oldest_open


def test_the_summary_of_a_contact_without_calls():
    summary = card_summary(contact=make_contact())

    assert summary.responsible is None and summary.is_lead is False
    assert summary.last_call is None
    assert summary.open_callbacks == 0 and summary.open_callback is None


def test_the_summary_takes_the_last_call_from_the_first_page(django_assert_num_queries):
    contact = make_contact(minutes_ago=1000)
    calls = [make_call(contact, minutes_ago=n + 1) for n in range(25)]
    first = page(contact)
    older = page(contact, older=first.older)

    with django_assert_num_queries(1):  # the open callbacks only
        assert card_summary(contact=contact, page=first).last_call == calls[0]
    with django_assert_num_queries(2):
        assert card_summary(contact=contact, page=older).last_call == calls[0]


def test_a_first_page_of_callbacks_only_does_not_hide_the_last_call():
    contact = make_contact(minutes_ago=1000)
    call = make_call(contact, minutes_ago=500, outcome="missed")
    for n in range(3):
        make_callback(make_call(None, minutes_ago=600 + n, outcome="missed",
                                phone=f"+7920111000{n}"))
    Callback.objects.update(contact=contact, created_at=at(1))
    first = page(contact, size=3)

    assert not [e for e in first.entries if isinstance(e, CallEntry)]
    assert card_summary(contact=contact, page=first).last_call == call
    empty = make_contact(phone="+79990001122")
    assert card_summary(contact=empty, page=page(empty)).last_call is None
