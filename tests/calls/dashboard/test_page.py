"""The calls dashboard's page: permission, figures shown, period, language, query count."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Agent
from tests.calls.dashboard.factories import call, callback

pytestmark = pytest.mark.django_db

PAGE = "/admin/dashboard/"


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

