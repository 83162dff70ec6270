"""In a real browser (Debian's chromium driven by Playwright), with a Russian browser: the calls
dashboard renders its charts and table with data, in Russian, with nothing from the internet."""
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call
from contacts.models import Agent
from tests.browser import launched

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def viewer() -> User:
    user = User.objects.create_user("manager", password="manager-pw-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_call"))
    return user


@pytest.fixture
def calls() -> None:
    anna = Agent.objects.create(extension="101", name="Анна")
    now = timezone.now()
    for n, (direction, outcome, duration) in enumerate([
        ("in", "answered", 61), ("in", "answered", 59), ("out", "answered", 30),
        ("in", "missed", None), ("out", "no_answer", None), ("in", "answered", 120),
    ]):
        Call.objects.create(
            callid=f"b{n}", direction=direction, outcome=outcome, duration=duration,
            agent=anna if outcome == "answered" or direction == "out" else None,
            started_at=now - timedelta(days=n % 3, minutes=n), phone="+79201119613",
        )


def test_dashboard_in_russian_with_data(live_server, chromium, viewer, calls):
    from playwright.sync_api import expect

    outside = []  # every request the page makes beyond the live server
    # No ORM from here on: Playwright's sync API runs an event loop in this thread.
    with launched(chromium) as browser:
        page = browser.new_page(locale="ru-RU")
        page.on("request", lambda request: None if request.url.startswith(
            live_server.url) else outside.append(request.url))
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", "manager-pw-1")
        page.click("input[type=submit]")

        page.locator("#dashboard-link a").click()

        assert page.url.endswith("/admin/dashboard/")
        expect(page.locator("html")).to_have_attribute("lang", "ru")
        expect(page.locator(".breadcrumbs")).to_contain_text("Начало")  # Django's own
        # The project's catalogue: "Calls dashboard", "Calls per day", "Busiest hours".
        expect(page.locator("h1")).to_have_text("Панель звонков")
        expect(page.locator("#calls-per-day h2")).to_have_text("Звонки по дням")
        expect(page.locator("#busiest-hours h2")).to_have_text("Загруженные часы")
        # Figures: 6 calls, 3 answered incoming, 2 outgoing, 1 missed.
        expect(page.locator("#totals .xvb-dash-figure")).to_have_text(["6", "3", "2", "1"])
        # The agent's row: 5 calls, 4 answered (80,0 with a Russian decimal comma).
        row = page.locator("#agents tbody tr", has_text="101 Анна")
        expect(row.locator("td")).to_have_text(["5", "80,0", "1:08", "—", "0"])
        # The charts are drawn: a bar segment per kind, a shaded hour, weekday names.
        for kind in ("incoming", "outgoing", "missed"):
            assert page.locator(f"#calls-per-day svg rect.{kind}").count() >= 1
        assert page.locator("#busiest-hours svg rect.xvb-heat-5").count() >= 1
        expect(page.locator("#busiest-hours svg")).to_contain_text("Пн")
        box = page.locator("#calls-per-day svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80

        page.get_by_role("link", name="365 дней").click()  # the project's catalogue
        assert page.url.endswith("/admin/dashboard/?days=365")
        expect(page.locator("#calls-per-day svg g.xvb-bar")).to_have_count(365)

    assert outside == []
