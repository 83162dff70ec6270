"""The compact lists' cells (calls/lists.py): short times with the full one in a title, talk
time as a clock, cut texts whole in their title, and the "Filter" button saying what applies."""
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.utils import formats, timezone, translation

from calls.lists import direction_icon, moment, one_line, talk_time, unfolding
from tests.html import Tags, tags

pytestmark = pytest.mark.django_db


@pytest.fixture
def noon(monkeypatch) -> datetime:  # noqa: ANN001
    """Now is 2026-06-15 12:00 in Moscow (the project's time zone)."""
    now = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def text(html: str) -> str:
    parts = []
    parser = HTMLParser()
    parser.handle_data = parts.append
    parser.feed(str(html))
    return "".join(parts)


def attributes(html: str) -> dict[str, str]:
    parser = Tags()
    parser.feed(str(html))
    return parser.tags[0][1]


@pytest.mark.parametrize(("ago", "russian", "english"), [
    (timedelta(hours=2), "10:00", "10:00"),  # today: the time
    (timedelta(days=40), "06.05 12:00", "05/06 12:00"),  # this year: day and month
    (timedelta(days=200), "27.11.2025", "11/27/2025"),  # another year: the date
])
def test_moment_is_short_and_whole_in_its_title(noon, ago, russian, english):
    when = timezone.localtime(noon - ago)
    for language, short in (("ru", russian), ("en", english)):
        with translation.override(language):
            html = moment(noon - ago)
            assert text(html) == short
            assert attributes(html) == {"datetime": when.isoformat(),
                                        "title": formats.localize(when)}


def test_moment_of_nothing_is_a_dash():
    assert moment(None) == "-"


@pytest.mark.parametrize(("seconds", "clock"), [
    (None, "-"), (0, "0:00"), (41, "0:41"), (95, "1:35"), (3725, "1:02:05"),
])
def test_talk_time_is_a_clock(seconds, clock):
    assert talk_time(seconds) == clock


def test_a_cut_text_is_whole_in_its_title_and_escaped():
    html = one_line("Рога & <Копыта>", url="/admin/x/")
    assert 'title="Рога &amp; &lt;Копыта&gt;"' in html
    assert 'href="/admin/x/"' in html
    assert one_line("") == "-"


def test_an_unfolding_text_has_it_whole_inside():
    html = unfolding("строка 1\nстрока 2")
    assert html.count("строка 2") == 3  # title, summary (cut by CSS), the pop-up
    assert html.startswith('<details class="xvb-unfold">')


def test_the_direction_icon_has_a_text_alternative():
    html = direction_icon("in", "входящий")
    assert 'aria-label="входящий"' in html and 'title="входящий"' in html
    assert direction_icon("", "") == "-"


def test_the_filter_button_says_what_the_callbacks_are_filtered_by(admin_client):
    response = admin_client.get("/admin/calls/callback/")
    assert response.context["filters_applied"] == ["open"]  # the admin is no agent: all
    response = admin_client.get("/admin/calls/callback/", {"state": "closed"})
    assert response.context["filters_applied"] == ["closed"]
    response = admin_client.get("/admin/calls/callback/", {"state": "all"})
    assert response.context["filters_applied"] == []
    assert [attrs for attrs in tags(response, "details") if attrs.get("class") == "xvb-filters"]
