"""A missed call from the emulated PBX becomes a callback in "My callbacks"; the agent presses
"Call back" in a real browser (Debian's chromium), the emulator plays the answered outbound
call, and the callback closes with the client's wait recorded."""
import time

import pytest
from django.contrib.auth.models import Permission, User

from calls.models import Call, Callback
from contacts.models import Agent
from contacts.services import save_contact
from tests.browser import launched, log_in

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = "79201119613"


def wait_for(condition, seconds: float = 10.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_missed_call_becomes_a_callback_that_closes_once_called_back(
    live_server, live_pbx, chromium
):
    from playwright.sync_api import expect

    user = User.objects.create_user("anna", password="anna-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "place_calls", "view_callback", "change_callback", "view_call", "view_contact",
    ]))
    anna = Agent.objects.create(extension="100", name="Анна", user=user)
    save_contact(name="Вася", company="Рога и Копыта", responsible=anna, phones=["+" + CLIENT])

    missed = live_pbx.place_one_inbound(CLIENT, status="missed")
    task = Callback.objects.get()
    assert (task.phone, task.agent, task.missed_call.callid) == ("+" + CLIENT, anna,
                                                                 missed.callid)

    with launched(chromium) as browser:
        page = browser.new_page(locale="ru-RU")
        log_in(page, live_server.url, "anna", "anna-pw-1")
        page.goto(f"{live_server.url}/admin/calls/callback/")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)

        page.get_by_role("button", name="Перезвонить").click()

        expect(page.locator("ul.messagelist li.success")).to_have_text(
            "Звоним на +7 920 111-96-13 с номера 100…"
        )

    assert live_pbx.join(timeout=10)
    assert wait_for(lambda: Callback.objects.filter(closed_at__isnull=False).exists())
    task.refresh_from_db()
    back = Call.objects.get(direction="out")
    assert (task.closed_by, back.outcome) == (back, "answered")
    assert task.waited is not None and task.waited.total_seconds() >= 0
