"""The calls dashboard (figures, page, permission, query count) and the call log's CSV export."""
import csv
import io
import re
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls import dashboard as figures
from calls.dashboard_views import safe_cell
from calls.models import Agent, Call, Callback, CallResult
from contacts.models import Contact
from contacts.services import save_contact

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")  # the settings' TIME_ZONE: UTC+3 all year
TODAY = date(2025, 5, 21)  # a Wednesday
PAGE = "/admin/dashboard/"
EXPORT = "/admin/calls/call/export/"
_ids = count(1)


def at(day: date, clock: str, zone: ZoneInfo = MOSCOW) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def call(started_at: datetime, *, direction: str = "in", outcome: str = "answered",
         agent: Agent | None = None, duration: int | None = None, **fields: object) -> Call:
    return Call.objects.create(
        callid=f"c{next(_ids)}", direction=direction, outcome=outcome, agent=agent,
        duration=duration, started_at=started_at, phone=fields.pop("phone", "+79201119613"),
        **fields,
    )


def callback(agent: Agent | None, created_at: datetime, waited: timedelta | None,
             phone: str | None = None) -> Callback:
    missed = call(created_at, outcome="missed")
    return Callback.objects.create(
        phone=phone or f"+7920{next(_ids):07d}", agent=agent, missed_call=missed,
        created_at=created_at, waited=waited,
        closed_at=created_at + waited if waited is not None else None,
    )


@pytest.fixture
def agents() -> tuple[Agent, Agent]:
    return (Agent.objects.create(extension="101", name="Анна"),
            Agent.objects.create(extension="102", name="Борис"))


@pytest.fixture
def viewer(client: Client) -> Client:
    """A staff user who may view calls, and nothing else."""
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    client.force_login(user)
    return client


@pytest.fixture
def stranger(client: Client) -> Client:
    """A staff user without the calls' view permission."""
    user = User.objects.create_user("stranger", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)
    return client


# --- the period ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "days"), [
    ("7", 7), ("30", 30), ("90", 90), ("365", 365), (None, 30), ("", 30), ("8", 30), ("x", 30),
])
def test_period_parameter(value: str | None, days: int) -> None:
    assert figures.parse_period(value) == days


def test_period_is_whole_local_days_ending_today() -> None:
    period = figures.Period.ending(days=7, today=TODAY)

    assert period.start == at(date(2025, 5, 15), "00:00")
    assert period.end == at(date(2025, 5, 22), "00:00")
    assert period.dates()[0] == date(2025, 5, 15) and period.dates()[-1] == TODAY


# --- the figures ---------------------------------------------------------------------------


def test_calls_per_day_split_into_incoming_outgoing_missed(agents) -> None:
    anna, _ = agents
    call(at(TODAY, "10:00"), agent=anna, duration=60)
    call(at(TODAY, "11:00"), direction="out", agent=anna, duration=30)
    call(at(TODAY, "12:00"), direction="out", outcome="no_answer", agent=anna)
    for outcome in ("missed", "no_answer", "busy"):
        call(at(TODAY, "13:00"), outcome=outcome)
    call(at(TODAY - timedelta(days=1), "09:00"), outcome="failed")

    board = figures.dashboard(days=7, today=TODAY)

    assert len(board.days) == 7
    assert board.days[-1] == figures.DayFigures(day=TODAY, incoming=1, outgoing=2, missed=3)
    assert board.days[-2] == figures.DayFigures(
        day=TODAY - timedelta(days=1), incoming=1, outgoing=0, missed=0
    )
    assert [day.total for day in board.days[:-2]] == [0] * 5
    assert (board.total, board.incoming, board.outgoing, board.missed) == (7, 2, 2, 3)


def test_days_are_those_of_the_active_time_zone() -> None:
    # 21:30 UTC on the 20th is 00:30 on the 21st in Moscow; 20:59 UTC is 23:59 on the 20th.
    call(at(date(2025, 5, 20), "21:30", ZoneInfo("UTC")))
    call(at(date(2025, 5, 20), "20:59", ZoneInfo("UTC")))

    board = figures.dashboard(days=2, today=TODAY)
    assert [(day.day, day.total) for day in board.days] == [(date(2025, 5, 20), 1), (TODAY, 1)]

    with timezone.override(ZoneInfo("UTC")):
        board = figures.dashboard(days=2, today=TODAY)
    assert [(day.day, day.total) for day in board.days] == [(date(2025, 5, 20), 2), (TODAY, 0)]


def test_days_and_hours_across_a_daylight_saving_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1, then UTC+2 from 2025-03-30 01:00 UTC
    with timezone.override(berlin):
        call(at(date(2025, 3, 29), "23:30", berlin))  # 22:30 UTC
        call(at(date(2025, 3, 30), "23:30", berlin))  # 21:30 UTC
        call(at(date(2025, 3, 31), "00:30", berlin))  # 22:30 UTC, like the first
        board = figures.dashboard(days=3, today=date(2025, 3, 31))

    assert [day.total for day in board.days] == [1, 1, 1]
    assert board.hours[5][23] == 1 and board.hours[6][23] == 1 and board.hours[0][0] == 1


def test_offset_changes_of_the_active_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    with timezone.override(berlin):
        changes = figures.offset_changes(
            at(date(2025, 1, 1), "00:00", berlin), at(date(2026, 1, 1), "00:00", berlin)
        )
    assert [(moment.astimezone(ZoneInfo("UTC")).strftime("%m-%d %H:%M"), offset)
            for moment, offset in changes] == [
        ("12-31 23:00", 3600), ("03-30 01:00", 7200), ("10-26 01:00", 3600)
    ]
    assert len(figures.offset_changes(at(TODAY, "00:00"), at(TODAY, "23:00"))) == 1


def test_period_leaves_out_earlier_calls_and_later_days() -> None:
    call(at(TODAY - timedelta(days=30), "23:59"))  # the day before a 30-day period
    call(at(TODAY - timedelta(days=29), "00:00"))  # its first moment
    call(at(TODAY + timedelta(days=1), "00:00"))  # tomorrow

    assert figures.dashboard(days=30, today=TODAY).total == 1
    assert figures.dashboard(days=90, today=TODAY).total == 2


def test_busiest_hours_by_local_weekday_and_hour() -> None:
    call(at(TODAY, "14:10"))  # Wednesday
    call(at(TODAY, "14:50"))
    call(at(date(2025, 5, 18), "23:30"))  # Sunday, 20:30 UTC

    hours = figures.dashboard(days=7, today=TODAY).hours

    assert hours[2][14] == 2
    assert hours[6][23] == 1
    assert sum(map(sum, hours)) == 3


def test_per_agent_table(agents) -> None:
    anna, boris = agents
    call(at(TODAY, "10:00"), agent=anna, duration=60)
    call(at(TODAY, "10:10"), agent=anna, duration=121, direction="out")
    call(at(TODAY, "10:20"), agent=anna, outcome="no_answer", direction="out")
    call(at(TODAY, "10:30"), outcome="missed", routed_to=boris)  # nobody answered: Boris's
    call(at(TODAY, "10:40"), outcome="missed")  # no agent at all
    call(at(TODAY - timedelta(days=10), "10:00"), agent=boris, duration=500)  # before the period

    rows = {row.agent: row for row in figures.dashboard(days=7, today=TODAY).agents}

    assert (rows[anna].calls, rows[anna].answered) == (3, 2)
    assert rows[anna].answered_rate == pytest.approx(200 / 3)
    assert rows[anna].average_talk == timedelta(seconds=90.5)
    assert rows[anna].average_talk_display == "1:30"
    assert (rows[boris].calls, rows[boris].answered, rows[boris].answered_rate) == (1, 0, 0)
    assert rows[boris].average_talk is None and rows[boris].average_talk_display == "—"
    # The calls of no agent come last; the callbacks' own missed calls are not in the period.
    assert list(rows)[-1] is None and rows[None].calls == 1


def test_median_time_to_call_back_and_open_callbacks(agents) -> None:
    anna, boris = agents
    for minutes in (30, 10, 20):  # odd count: the middle one
        callback(anna, at(TODAY, "09:00"), timedelta(minutes=minutes))
    for minutes in (10, 40, 20, 1000):  # even count: the mean of the two middle ones
        callback(boris, at(TODAY, "09:00"), timedelta(minutes=minutes))
    callback(anna, at(TODAY - timedelta(days=9), "09:00"), timedelta(minutes=1))  # earlier
    callback(anna, at(TODAY, "09:30"), None)  # still open
    callback(anna, at(TODAY - timedelta(days=60), "09:30"), None)  # open, from long ago
    callback(None, at(TODAY, "09:30"), None)  # nobody's

    rows = {row.agent: row for row in figures.dashboard(days=7, today=TODAY).agents}

    assert rows[anna].median_callback == timedelta(minutes=20)
    assert rows[boris].median_callback == timedelta(minutes=30)
    assert (rows[anna].open_callbacks, rows[boris].open_callbacks) == (2, 0)
    assert rows[None].open_callbacks == 1 and rows[None].median_callback is None


def test_inactive_agents_without_figures_are_left_out(agents) -> None:
    Agent.objects.create(extension="199", name="Ушёл", is_active=False)

    extensions = [row.agent.extension for row in figures.dashboard(days=7, today=TODAY).agents]

    assert extensions == ["101", "102"]


def test_human_durations() -> None:
    assert figures.clock(timedelta(seconds=3725)) == "1:02:05"
    assert figures.human_duration(timedelta(seconds=42)) == "0:42"
    hour = timedelta(hours=1, minutes=5, seconds=9)
    assert figures.human_duration(hour) == "1\xa0hour, 5\xa0minutes"


def test_daily_chart_stacks_each_day_to_scale() -> None:
    days = [figures.DayFigures(day=TODAY, incoming=3, outgoing=1, missed=1),
            figures.DayFigures(day=TODAY + timedelta(days=1))]

    chart = figures.daily_chart(days, height=240)  # 200 px of plot, 0-5: 40 px a call

    first = chart.bars[0]
    assert [(kind, height) for kind, _, height in first.segments] == [
        ("incoming", 120), ("outgoing", 40), ("missed", 40)
    ]
    assert first.segments[-1][1] == chart.top
    assert chart.bars[1].segments == []
    assert [tick.value for tick in chart.ticks] == [0, 2, 5]


def test_heat_map_shades_relative_to_the_busiest_hour() -> None:
    hours = [[0] * 24 for _ in range(7)]
    hours[0][9], hours[0][10], hours[4][17] = 10, 1, 5

    rows = figures.heat_map(hours).rows

    assert [rows[0].cells[9].level, rows[0].cells[10].level, rows[4].cells[17].level] == [5, 1, 3]
    assert rows[0].cells[0].level == 0
    assert str(rows[0].label) == "Mon"


# --- the page ------------------------------------------------------------------------------


def test_page_needs_the_view_call_permission(stranger: Client) -> None:
    assert stranger.get(PAGE).status_code == 403


def test_page_needs_a_login(client: Client) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_page_shows_the_figures(viewer: Client, agents) -> None:
    anna, _ = agents
    now = timezone.now()
    call(now, agent=anna, duration=60)
    call(now, agent=anna, outcome="no_answer", direction="out")
    call(now, outcome="missed")

    response = viewer.get(PAGE)

    assert response.status_code == 200
    board = response.context["board"]
    assert board.period.days == 30 and (board.incoming, board.outgoing, board.missed) == (1, 1, 1)
    html = response.content.decode()
    assert "101 Анна" in html
    assert "50.0" in html  # Anna's answered rate
    assert 'class="missed"' in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
    assert " style=" not in html


def test_period_is_chosen_by_a_get_parameter(viewer: Client) -> None:
    call(timezone.now() - timedelta(days=60))

    assert viewer.get(PAGE, {"days": "90"}).context["board"].total == 1
    assert viewer.get(PAGE, {"days": "7"}).context["board"].total == 0
    assert len(viewer.get(PAGE, {"days": "365"}).context["board"].days) == 365


def test_page_in_russian_keeps_svg_coordinates_machine_readable(viewer: Client, agents) -> None:
    anna, _ = agents
    now = timezone.now()
    for duration in (61, 62, None):
        call(now, agent=anna, duration=duration, outcome="answered" if duration else "busy")

    response = viewer.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru")

    html = response.content.decode()
    assert "66,7" in html  # the answered rate, with a Russian decimal comma
    assert "Начало" in html  # Django's own "Home"
    assert "Пн" in html and "Вс" in html
    assert re.search(r'\b(?:x|y|width|height)="[0-9.]*,', html) is None


def test_query_count_does_not_grow_with_agents_or_calls(
    viewer: Client, agents, django_assert_max_num_queries
) -> None:
    with CaptureQueriesContext(connection) as few:
        viewer.get(PAGE, {"days": "365"})
    now = timezone.now()
    for n in range(30):
        agent = Agent.objects.create(extension=f"2{n:02d}", name=f"Агент {n}")
        call(now - timedelta(days=n % 20, hours=n % 7), agent=agent, duration=n + 1)
        callback(agent, now - timedelta(days=n % 5), timedelta(minutes=n + 1))
        callback(agent, now - timedelta(days=n % 5), None)

    # The session, the user and their permissions, the header's agent, six for the figures.
    with django_assert_max_num_queries(len(few)) as many:
        assert viewer.get(PAGE, {"days": "365"}).status_code == 200
    assert len(many) <= 12


def test_admin_index_links_to_the_dashboard(viewer: Client) -> None:
    html = viewer.get("/admin/").content.decode()

    assert '<p class="xvb-dashboard-link" id="dashboard-link"><a href="/admin/dashboard/">' in html
    assert '<th scope="row" id="calls-dashboard">' in html  # in the calls app's list too


def test_admin_index_has_no_link_without_the_permission(stranger: Client) -> None:
    assert "/admin/dashboard/" not in stranger.get("/admin/").content.decode()


# --- the CSV export ------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:  # noqa: ANN001
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def log(agents) -> dict[str, Call]:
    anna, boris = agents
    contact = save_contact(name="Вася Пупкин", company="Рога и Копыта", phones=["+79201119613"])
    result = CallResult.objects.create(name="Продажа")
    return {
        "answered": call(
            at(TODAY, "10:00"), agent=anna, duration=75, contact=contact, result=result,
            note="Перезвонить в пятницу; «важно»", record_link="https://pbx.example/r/1.mp3",
        ),
        "missed": call(at(TODAY, "11:00"), outcome="missed", phone="+79201119614"),
        "out": call(at(TODAY, "12:00"), direction="out", agent=boris, duration=5,
                    phone="+79201119615"),
    }


def staff_client(username: str, *codenames: str, agent: Agent | None = None) -> Client:
    """A logged-in staff user with these permissions, linked to `agent` if given."""
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if agent is not None:
        Agent.objects.filter(pk=agent.pk).update(user=user)
    client = Client()
    client.force_login(user)
    return client


def test_export_has_bom_semicolons_and_every_column(log) -> None:
    listener = staff_client("auditor", "view_call", "listen_all_recordings")

    response = listener.get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="calls-')
    header, *rows = read_csv(response)
    assert header == ["Started", "Direction", "Client phone", "Contact", "Agent", "Outcome",
                      "Talk time, s", "Result", "Note", "Recording"]
    assert len(rows) == 3
    assert rows[-1] == [
        "2025-05-21 10:00:00", "incoming", "+7 920 111-96-13", "Вася Пупкин (Рога и Копыта)",
        "101 Анна", "answered", "75", "Продажа", "Перезвонить в пятницу; «важно»",
        "https://pbx.example/r/1.mp3",
    ]


def recording_links(client: Client) -> list[str]:
    """The export's recording column: the outgoing, the missed, the answered call."""
    _, *rows = read_csv(client.get(EXPORT))
    return [row[9] for row in rows]


ANSWERED_LINK, OUT_LINK = "https://pbx.example/r/1.mp3", "https://pbx.example/r/3.mp3"


def test_export_gives_no_recording_link_to_who_may_not_listen(viewer: Client, log) -> None:
    assert recording_links(viewer) == ["", "", ""]


def test_export_gives_an_agent_the_links_of_their_own_calls_only(log, agents) -> None:
    anna, boris = agents
    Call.objects.filter(pk=log["out"].pk).update(record_link=OUT_LINK)

    assert recording_links(staff_client("boris", "view_call", agent=boris)) == [OUT_LINK, "", ""]
    assert recording_links(staff_client("anna", "view_call", agent=anna)) == ["", "", ANSWERED_LINK]


def test_export_follows_the_routing_of_the_call_not_todays_responsible(log, agents) -> None:
    anna, boris = agents
    Call.objects.filter(pk=log["answered"].pk).update(agent=None, routed_to=boris)
    Contact.objects.filter(pk=log["answered"].contact_id).update(responsible=anna)

    routed = staff_client("boris", "view_call", agent=boris)
    responsible_today = staff_client("anna", "view_call", agent=anna)

    assert recording_links(routed) == ["", "", ANSWERED_LINK]
    assert recording_links(responsible_today) == ["", "", ""]


def test_export_applies_the_change_lists_filters(viewer: Client, log) -> None:
    rows = read_csv(viewer.get(EXPORT, {"outcome__exact": "missed"}))[1:]
    assert [row[2] for row in rows] == ["+7 920 111-96-14"]

    rows = read_csv(viewer.get(EXPORT, {"direction__exact": "out"}))[1:]
    assert [row[4] for row in rows] == ["102 Борис"]


def test_export_applies_the_change_lists_search(viewer: Client, log) -> None:
    rows = read_csv(viewer.get(EXPORT, {"q": "8 (920) 111-96-15"}))[1:]

    assert [row[2] for row in rows] == ["+7 920 111-96-15"]


def test_export_of_a_period_of_the_dashboard(viewer: Client, log) -> None:
    start = at(TODAY, "11:30")
    rows = read_csv(viewer.get(EXPORT, {"started_at__gte": start.isoformat()}))[1:]

    assert [row[0] for row in rows] == ["2025-05-21 12:00:00"]


def test_export_in_russian(viewer: Client, log) -> None:
    header, *rows = read_csv(viewer.get(EXPORT, HTTP_ACCEPT_LANGUAGE="ru"))

    assert header[0] == "Начало" and header[4] == "Сотрудник"
    assert rows[-1][:2] == ["21.05.2025 10:00:00", "входящий"]
    assert rows[-1][3] == "Вася Пупкин (Рога и Копыта)"


def test_export_with_a_wrong_filter_goes_back_to_the_call_log(viewer: Client) -> None:
    response = viewer.get(EXPORT, {"no_such_field": "1"})

    assert response.status_code == 302 and response["Location"] == "/admin/calls/call/?e=1"


def test_export_needs_the_view_call_permission(stranger: Client) -> None:
    assert stranger.get(EXPORT).status_code == 403


def test_export_neutralises_formulas(viewer: Client) -> None:
    call(at(TODAY, "10:00"), note="=HYPERLINK(\"http://evil\")", phone="=1+2")

    row = read_csv(viewer.get(EXPORT))[1]

    assert row[2] == "'=1+2" and row[8] == "'=HYPERLINK(\"http://evil\")"


def test_safe_cell() -> None:
    assert [safe_cell(text) for text in ("@SUM(A1)", "-1", "+7", "ok", "")] == [
        "'@SUM(A1)", "'-1", "'+7", "ok", ""
    ]


def test_call_log_links_to_the_export_with_its_filters(viewer: Client) -> None:
    html = viewer.get("/admin/calls/call/", {"outcome__exact": "missed", "q": "x"}).content

    assert b'href="/admin/calls/call/export/?outcome__exact=missed&amp;q=x"' in html
