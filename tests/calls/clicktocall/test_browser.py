"""In a real browser (Debian's chromium driven by Playwright): log in, press "Call" on a
contact's page, see the success message, and the PBX (the emulator) got the makeCall."""
import pytest
from django.contrib.auth.models import Permission, User
from django.utils.timezone import now

from calls.assembly import record_event
from calls.pbx import protocol
from contacts.models import Agent
from contacts.services import save_contact
from tests.browser import launched, log_in

pytestmark = pytest.mark.django_db(transaction=True)

@pytest.fixture
def manager() -> User:
    user = User.objects.create_user("manager", password="manager-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["place_calls", "view_contact", "change_contact", "view_call"]
    ))
    Agent.objects.create(extension="100", name="Manager", user=user)
    return user


def log_in_as_manager(page, base_url: str) -> None:  # noqa: ANN001
    log_in(page, base_url, "manager", "manager-pw-1")


def test_press_call_on_a_contact_page_and_see_the_call_placed(
    live_server, pbx, chromium, manager
):
    from playwright.sync_api import expect

    contact = save_contact(name="Вася", company="Рога и Копыта", phones=["8 920 111-96-13"])

    # No ORM from here on: Playwright's sync API runs an event loop in this thread.
    with launched(chromium) as browser:
        page = browser.new_page(locale="en-US")
        log_in_as_manager(page, live_server.url)
        page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")

        page.get_by_role("button", name="Call").click()

        success = page.locator("ul.messagelist li.success")
        expect(success).to_have_text("Calling +7 920 111-96-13 from 100…")
        assert page.url.endswith(f"/admin/contacts/contact/{contact.pk}/change/")

    assert [(r["from"], r["to"]) for r in pbx.received] == [("100", "79201119613")]


def test_call_back_a_missed_call_from_the_call_log(live_server, pbx, chromium, manager):
    from playwright.sync_api import expect

    for fields in (
        {"callid": "m1", "type": "in", "event": "INCOMING", "phone": "79201119613"},
        {"callid": "m1", "event": "COMPLETED", "status": "missed", "phone": "79201119613"},
    ):
        record_event(event=protocol.parse_command({"cmd": "event", **fields}), received_at=now())

    with launched(chromium) as browser:
        page = browser.new_page(locale="ru-RU")
        log_in_as_manager(page, live_server.url)
        page.goto(f"{live_server.url}/admin/calls/call/?outcome__exact=missed")

        page.get_by_role("button", name="Перезвонить").click()

        success = page.locator("ul.messagelist li.success")
        expect(success).to_have_text("Звоним на +7 920 111-96-13 с номера 100…")
        assert page.url.endswith("/admin/calls/call/?outcome__exact=missed")

    assert [(r["from"], r["to"]) for r in pbx.received] == [("100", "79201119613")]


def test_enter_in_a_field_saves_the_contact_and_calls_nobody(
    live_server, pbx, chromium, manager
):
    contact = save_contact(name="Вася", phones=["8 920 111-96-13"])

    with launched(chromium) as browser:
        page = browser.new_page(locale="en-US")
        log_in_as_manager(page, live_server.url)
        page.goto(f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/")

        page.fill("#id_name", "Василий")
        page.press("#id_name", "Enter")

        page.wait_for_url(f"{live_server.url}/admin/contacts/contact/")
        assert "was changed successfully" in page.locator("ul.messagelist").inner_text()

    contact.refresh_from_db()
    assert contact.name == "Василий"
    assert pbx.received == []
