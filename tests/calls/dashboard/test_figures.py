"""The dashboard's figures: the period, calls per day, per agent, busiest hours, the charts."""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calls.dashboard import figures
from calls.dashboard.charts import daily_chart, heat_map
from calls.dashboard.periods import Period, offset_changes, parse_period
from contacts.models import Agent
from tests.calls.dashboard.factories import TODAY, at, call, callback

pytestmark = pytest.mark.django_db


# --- the period ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "days"), [
    ("7", 7), ("30", 30), ("90", 90), ("365", 365), (None, 30), ("", 30), ("8", 30), ("x", 30),
])
def test_period_parameter(value: str | None, days: int) -> None:
    assert parse_period(value) == days


def test_period_is_whole_local_days_ending_today() -> None:
    period = Period.ending(days=7, today=TODAY)

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
        changes = offset_changes(
            at(date(2025, 1, 1), "00:00", berlin), at(date(2026, 1, 1), "00:00", berlin)
        )
    assert [(moment.astimezone(ZoneInfo("UTC")).strftime("%m-%d %H:%M"), offset)
            for moment, offset in changes] == [
        ("12-31 23:00", 3600), ("03-30 01:00", 7200), ("10-26 01:00", 3600)
    ]
    assert len(offset_changes(at(TODAY, "00:00"), at(TODAY, "23:00"))) == 1


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

    chart = daily_chart(days, height=240)  # 200 px of plot, 0-5: 40 px a call

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

    rows = heat_map(hours).rows

    assert [rows[0].cells[9].level, rows[0].cells[10].level, rows[4].cells[17].level] == [5, 1, 3]
    assert rows[0].cells[0].level == 0
    assert str(rows[0].label) == "Mon"

