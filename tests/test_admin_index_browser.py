"""In a real browser (Debian's chromium driven by Playwright): the admin's front page opens on
the agent's desk (live call, open callbacks, today's figures), then Calls and Contacts, and the
System group last, in Russian and English."""
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from calls.models import Call, Callback
from contacts.models import Agent
from tests.browser import launched, log_in

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "ru-RU": {"desk": "Мой рабочий стол", "system": "Система",
              "callbacks": "Мои открытые перезвоны"},
    "en-US": {"desk": "My desk", "system": "System", "callbacks": "My open callbacks"},
}


@pytest.fixture
def boss() -> User:
    """A superuser who also answers calls (as `make run`'s admin, agent 100)."""
    user = User.objects.create_superuser("boss", password="boss-pw-1")
    agent = Agent.objects.create(extension="100", name="Босс", user=user)
    now = timezone.now()
    Call.objects.create(callid="live", direction="in", phone="+79201119613", routed_to=agent,
                        started_at=now)
    missed = Call.objects.create(callid="missed", direction="in", phone="+79211234567",
                                 outcome="missed", routed_to=agent, started_at=now)
    Callback.objects.create(phone="+79211234567", agent=agent, missed_call=missed,
                            created_at=now)
    return user


@pytest.mark.parametrize("locale", WORDS)
def test_the_front_page_opens_on_the_desk_with_system_last(
    live_server, chromium, boss: User, locale: str
) -> None:
    from playwright.sync_api import expect

    words = WORDS[locale]
    with launched(chromium) as browser:
        page = browser.new_page(locale=locale, viewport={"width": 1366, "height": 768})
        log_in(page, live_server.url, "boss", "boss-pw-1")
        page.wait_for_url(f"{live_server.url}/admin/")

        desk = page.locator("#content-main #desk")
        expect(desk.locator("h2")).to_have_text(words["desk"])
        expect(desk.locator("#desk-live .xvb-front-live")).to_contain_text("+7 920 111-96-13")
        expect(desk.locator("#desk-callbacks h3")).to_contain_text(words["callbacks"])
        expect(desk.locator("#desk-callbacks .xvb-front-callback")).to_contain_text(
            "+7 921 123-45-67")
        expect(desk.locator("#desk-today .xvb-front-figure")).to_have_text(
            ["2", "0", "1", "2", "0"])

        modules = page.locator("#content-main > div.module, #content-main #system-apps "
                               "div.module")
        classes = [modules.nth(n).get_attribute("class") for n in range(modules.count())]
        assert [c.split()[0] for c in classes[:2]] == ["app-calls", "app-contacts"]
        system = page.locator("#system-apps")
        expect(system.locator("h2").first).to_have_text(words["system"])
        expect(system.locator("div.module")).to_have_count(4)

        def top(locator) -> float:  # noqa: ANN001
            return locator.bounding_box()["y"]

        assert top(desk) < top(page.locator(".app-calls.module").first)
        assert top(page.locator("#content-main .app-contacts.module")) < top(system)

        page.locator("#desk-callbacks .xvb-front-more a").click()
        page.wait_for_url("**/admin/calls/callback/?state=open&assignee=mine")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
