"""In a real browser (Debian's chromium driven by Playwright): two agents logged in at once,
real webhook posts of a caller lookup and an incoming call; only the routed agent's page shows
the pop-up, it goes when the call ends, and "Create contact" opens the prefilled add form."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call
from contacts.models import Agent, Contact
from contacts.services import save_contact
from tests.browser import launched, log_in
from tests.conftest import ACCESS_CODE, lwp_request, send_raw

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "79201119613"
STRANGER = "79211234567"


@pytest.fixture(autouse=True)
def fast_poll(settings) -> None:  # noqa: ANN001
    settings.DESK_POLL_SECONDS = 0.3


def agent_user(username: str, extension: str) -> User:
    user = User.objects.create_user(username, password=f"{username}-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_contact", "change_contact", "add_contact", "view_call"]
    ))
    Agent.objects.create(extension=extension, name=username.title(), user=user)
    return user


@pytest.fixture
def alice() -> User:
    return agent_user("alice", "100")


@pytest.fixture
def bob() -> User:
    return agent_user("bob", "101")


def talked_before(agent: Agent, phone: str) -> None:
    """A stranger's answered call with `agent` yesterday: the lookup routes them there."""
    yesterday = timezone.now() - timedelta(days=1)
    Call.objects.create(callid=f"before-{phone}", direction="in", phone=f"+{phone}",
                        outcome="answered", agent=agent, started_at=yesterday,
                        answered_at=yesterday)


def post(base_url: str, **fields: str) -> None:
    body = "&".join(f"{k}={v}" for k, v in {"access_code": ACCESS_CODE, **fields}.items())
    assert send_raw(base_url, lwp_request(body.encode())).status == 200


def incoming(base_url: str, callid: str, phone: str) -> None:
    post(base_url, cmd="contact", phone=phone)
    post(base_url, cmd="event", callid=callid, type="in", event="INCOMING", ext="", phone=phone)


def logged_in_page(browser, base_url: str, username: str):  # noqa: ANN001, ANN201
    """A page of a browser context of its own (its own cookies) with `username` logged in."""
    page = browser.new_context(locale="en-US").new_page()
    log_in(page, base_url, username, f"{username}-pw-1")
    page.wait_for_url(f"{base_url}/admin/")
    return page


def next_poll(page):  # noqa: ANN001, ANN201
    """The JSON of the page's next poll, once it has come."""
    with page.expect_response(lambda r: "/desk/poll/" in r.url) as response:
        pass
    return response.value.json()


def test_the_pop_up_shows_to_the_routed_agent_only_and_goes_when_the_call_ends(
    live_server, chromium, alice, bob
):
    from playwright.sync_api import expect

    save_contact(name="Вася", company="Рога и Копыта", phones=[f"+{CALLER}"],
                 responsible=alice.agent)
    url = live_server.url

    with launched(chromium) as browser:
        page_a, page_b = logged_in_page(browser, url, "alice"), logged_in_page(browser, url, "bob")
        card_a, card_b = page_a.locator(".xvb-desk-call"), page_b.locator(".xvb-desk-call")
        expect(card_a).to_have_count(0)

        incoming(url, "live-1", CALLER)  # routed to alice, Вася's responsible

        expect(card_a).to_be_visible()
        expect(card_a.locator(".xvb-desk-name")).to_have_text("Вася")
        expect(card_a.locator(".xvb-desk-company")).to_have_text("Рога и Копыта")
        expect(card_a.locator(".xvb-desk-phone")).to_have_text("+7 920 111-96-13")
        expect(card_a.locator(".xvb-desk-state")).to_have_text("Incoming call")
        assert next_poll(page_b) == {"callids": [], "html": "", "poll_seconds": 0.3}
        expect(card_b).to_have_count(0)

        post(url, cmd="event", callid="live-1", type="in", event="ANSWERED", ext="100",
             phone=CALLER)
        expect(card_a.locator(".xvb-desk-state")).to_have_text("Call in progress")
        page_a.goto(f"{url}/admin/contacts/contact/")  # any admin page has it
        expect(card_a).to_be_visible()

        post(url, cmd="event", callid="live-1", event="COMPLETED", status="Success",
             duration="16", ext="100", phone=CALLER)
        expect(card_a).to_have_count(0)
        expect(page_a.locator("#xvb-desk")).to_be_hidden()
        expect(card_b).to_have_count(0)


def test_dismiss_hides_the_call_for_the_session(live_server, chromium, alice):
    from playwright.sync_api import expect

    talked_before(alice.agent, STRANGER)
    url = live_server.url
    with launched(chromium) as browser:
        page = logged_in_page(browser, url, "alice")
        incoming(url, "live-2", STRANGER)
        card = page.locator(".xvb-desk-call")
        expect(card).to_be_visible()

        page.get_by_role("button", name="Dismiss").click()
        expect(card).to_be_hidden()
        page.reload()
        assert next_poll(page)["callids"] == ["live-2"]
        expect(card).to_be_hidden()


def test_create_contact_from_the_pop_up(
    live_server, chromium, alice
):
    from playwright.sync_api import expect

    talked_before(alice.agent, STRANGER)  # no contact yet, but routed to alice
    url = live_server.url
    with launched(chromium) as browser:
        page = logged_in_page(browser, url, "alice")
        incoming(url, "live-3", STRANGER)
        card = page.locator(".xvb-desk-call")
        expect(card.locator(".xvb-desk-name")).to_have_text("Unknown number")

        card.get_by_role("link", name="Create contact").click()

        page.wait_for_url(re.compile(r"/admin/contacts/contact/add/\?phone=%2B79211234567$"))
        number = page.locator("input[name='phones-0-number']")
        value = number.input_value()
        assert re.sub(r"\D", "", value) == STRANGER, value

        page.fill("#id_name", "Пётр Новиков")
        page.click("input[name='_save']")
        expect(page.locator("ul.messagelist li.success")).to_be_visible()
        # Still ringing: the pop-up now knows the caller.
        expect(card.locator(".xvb-desk-name")).to_have_text("Пётр Новиков")

    contact = Contact.objects.get(name="Пётр Новиков")
    assert list(contact.phones.values_list("number", flat=True)) == [f"+{STRANGER}"]
