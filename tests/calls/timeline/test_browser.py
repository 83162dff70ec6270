"""In a real browser (Debian's chromium driven by Playwright), in Russian and in English: a
contact's card shows the client's calls newest first, a missed one with "Call back" that
places the call, and the timeline's pages follow one another."""
import re

import pytest

from tests.browser import launched, log_in
from tests.calls.timeline.conftest import make_call, make_callback, make_contact

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "ru-RU": {"timeline": "История", "call back": "Перезвонить", "older": "Более ранние",
              "newer": "Более новые", "created": "Контакт создан", "responsible": "Ответственный",
              "callback": "Перезвон", "calling": "Звоним на +7 920 111-96-13 с номера 100…",
              "missed": "пропущен"},
    "en-US": {"timeline": "Timeline", "call back": "Call back", "older": "Older",
              "newer": "Newer", "created": "Contact created", "responsible": "Responsible",
              "callback": "Callback", "calling": "Calling +7 920 111-96-13 from 100…",
              "missed": "missed"},
}


def call_ids(page) -> list[int]:  # noqa: ANN001
    """The calls of the timeline's rows, top to bottom."""
    hrefs = page.locator("tr.xvb-entry-call td:nth-child(2) a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")
    return [int(re.search(r"/call/(\d+)/", href).group(1)) for href in hrefs]


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_the_card_shows_the_history_newest_first_pages_and_calls_back(
    live_server, pbx, chromium, anna, locale
):
    from playwright.sync_api import expect

    words = WORDS[locale]
    contact = make_contact(minutes_ago=10_000, responsible=anna.agent)
    calls = [make_call(contact, minutes_ago=10 * n + 5, agent=anna.agent,
                       direction="out" if n % 2 else "in") for n in range(24)]
    missed = make_call(contact, minutes_ago=7, outcome="missed")  # the second newest
    make_callback(missed, agent=anna.agent)
    newest_first = [calls[0].pk, missed.pk, *(c.pk for c in calls[1:])]
    url = f"{live_server.url}/admin/contacts/contact/{contact.pk}/change/"

    # No ORM from here on: Playwright's sync API runs an event loop in this thread.
    with launched(chromium) as browser:
        page = browser.new_page(locale=locale)
        log_in(page, live_server.url, "anna", "anna-pw-1")
        page.wait_for_url(f"{live_server.url}/admin/")
        page.goto(url)

        expect(page.locator("#timeline h2")).to_have_text(words["timeline"])
        expect(page.locator("#card-summary")).to_contain_text(words["responsible"])
        expect(page.locator("#card-summary")).to_contain_text("100 Anna")
        assert call_ids(page) == newest_first[:19]  # and the missed call's callback: 20
        rows = page.locator("tr.xvb-entry")
        expect(rows).to_have_count(20)
        expect(rows.nth(1)).to_contain_text(words["callback"])
        missed_row = page.locator("tr.xvb-missed")
        expect(missed_row).to_have_count(1)
        expect(missed_row).to_contain_text(words["missed"])
        # "Call back" on the missed call only; "Call" still by the number.
        expect(page.locator("#timeline button")).to_have_count(1)
        expect(missed_row.locator("button")).to_have_text(words["call back"])
        expect(page.locator(".field-call button.xvb-call")).to_have_count(1)

        page.get_by_role("link", name=words["older"]).click()
        page.wait_for_url(re.compile(r"\?older=[0-9.]+#timeline$"))
        expect(page.locator("tr.xvb-entry")).to_have_count(7)  # 6 calls and the creation
        assert call_ids(page) == newest_first[19:]
        expect(page.locator("tr.xvb-entry").last).to_contain_text(words["created"])
        expect(page.get_by_role("link", name=words["older"])).to_have_count(0)

        page.get_by_role("link", name=words["newer"]).click()
        page.wait_for_url(re.compile(r"\?newer=[0-9.]+#timeline$"))
        expect(page.locator("tr.xvb-entry")).to_have_count(20)
        assert call_ids(page) == newest_first[:19]

        missed_row.locator("button").click()
        expect(page.locator("ul.messagelist li.success")).to_have_text(words["calling"])
        assert page.url.split("#")[0].startswith(url)

    assert [(r["from"], r["to"]) for r in pbx.received] == [("100", "79201119613")]
