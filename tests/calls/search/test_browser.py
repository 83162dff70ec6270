"""In a real browser (Debian's chromium driven by Playwright): a number typed into the header's
search box on an admin page leads to the results with the contact, in Russian and English."""
import pytest
from django.contrib.auth.models import User

from contacts.models import Contact
from tests.browser import launched, log_in
from tests.calls.search.conftest import a_call

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {  # what the page says, in each language
    "ru-RU": {"placeholder": "Номер, имя или компания", "contacts": "Контакты",
              "calls": "Звонки", "problem": "не короче 3 символов"},
    "en-US": {"placeholder": "Number, name or company", "contacts": "Contacts",
              "calls": "Calls", "problem": "at least 3 characters"},
}


@pytest.mark.parametrize("locale", WORDS)
def test_a_number_typed_in_the_header_finds_the_contact(
    live_server, chromium, viewer: User, vasya: Contact, locale: str
) -> None:
    from playwright.sync_api import expect

    a_call("mine", contact=vasya)
    words = WORDS[locale]
    # No ORM from here on: Playwright's sync API runs an event loop in this thread.
    with launched(chromium) as browser:
        page = browser.new_page(locale=locale)
        log_in(page, live_server.url, "viewer", "viewer-pw-1")
        page.goto(f"{live_server.url}/admin/calls/call/")  # any admin page has the box

        box = page.locator("#header #xvb-search-q")
        expect(box).to_have_attribute("placeholder", words["placeholder"])
        box.fill("8 (920) 111-96-13")
        box.press("Enter")

        page.wait_for_url("**/admin/search/?q=*")
        expect(page.locator("#search-contacts h2")).to_have_text(words["contacts"])
        expect(page.locator("#search-calls h2")).to_have_text(words["calls"])
        expect(page.locator("#search-calls .xvb-search-call")).to_have_count(1)
        expect(box).to_have_value("8 (920) 111-96-13")
        page.locator("#search-contacts .xvb-search-contact a").click()

        page.wait_for_url(f"**/admin/contacts/contact/{vasya.pk}/change/")
        expect(page.locator("#content h2").first).to_contain_text("Вася Пупкин")

        page.locator("#xvb-search-q").fill("Ва")
        page.locator("#xvb-search button[type=submit]").click()
        expect(page.locator("#search-problem")).to_contain_text(words["problem"])
