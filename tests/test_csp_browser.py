"""In a real browser (Debian's chromium driven by Playwright): the admin's pages and the live
call pop-up under the Content-Security-Policy (scripts and styles from 'self' only) cause no
violation, the pop-up still appears and the admin's own JavaScript still works."""
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from calls.models import Call
from contacts.models import Agent
from contacts.services import save_contact
from tests.browser import launched, log_in
from tests.conftest import ACCESS_CODE, lwp_request, send_raw

pytestmark = pytest.mark.django_db(transaction=True)

CALLER = "79201119613"
# Reports every violation into window.__cspViolations (init scripts are not subject to CSP).
COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@pytest.fixture(autouse=True)
def fast_poll(settings) -> None:  # noqa: ANN001
    settings.DESK_POLL_SECONDS = 0.3


@pytest.fixture
def boss() -> User:
    """A superuser who is also agent 100, so the pop-up shows on their pages."""
    user = User.objects.create_superuser("boss", password="boss-pw-1")
    Agent.objects.create(extension="100", name="Boss", user=user)
    return user


def post(base_url: str, **fields: str) -> None:
    body = "&".join(f"{k}={v}" for k, v in {"access_code": ACCESS_CODE, **fields}.items())
    assert send_raw(base_url, lwp_request(body.encode())).status == 200


def test_admin_pages_and_the_pop_up_cause_no_csp_violation(live_server, chromium, boss):
    from playwright.sync_api import expect

    contact = save_contact(name="Вася", company="Рога и Копыта", phones=[f"+{CALLER}"],
                           responsible=boss.agent)
    started = timezone.now()
    Call.objects.create(callid="old-1", direction="in", phone=f"+{CALLER}", outcome="answered",
                        agent=boss.agent, contact=contact, started_at=started,
                        answered_at=started, duration=16,
                        record_link="https://pbx.example.com/records/old-1.mp3")
    call_pk = Call.objects.get().pk
    url = live_server.url
    pages = [
        "/admin/",
        f"/admin/contacts/contact/{contact.pk}/change/",
        "/admin/calls/call/",
        f"/admin/calls/call/{call_pk}/change/",
        "/admin/dashboard/",
        "/admin/pbx-integration/",
    ]
    console: list[str] = []
    seen: dict[str, list[str]] = {}

    with launched(chromium) as browser:
        page = browser.new_context(locale="en-US").new_page()
        page.add_init_script(COLLECT)
        page.on("console", lambda message: console.append(message.text))
        log_in(page, url, "boss", "boss-pw-1")
        page.wait_for_url(f"{url}/admin/")

        for path in pages:
            response = page.goto(f"{url}{path}")
            assert response.status == 200, path
            assert "script-src 'self'" in response.headers["content-security-policy"]
            page.wait_for_timeout(700)  # a couple of the pop-up's polls (never network-idle)
            seen[path] = page.evaluate("window.__cspViolations")

        # The admin's JavaScript: the actions bar's select-all checkbox.
        page.goto(f"{url}/admin/contacts/contact/")
        page.check("#action-toggle")
        expect(page.locator("input.action-select").first).to_be_checked()
        expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")

        # The live pop-up, on the call log, for a call routed to the boss.
        page.goto(f"{url}/admin/calls/call/")
        post(url, cmd="contact", phone=CALLER)
        post(url, cmd="event", callid="live-1", type="in", event="INCOMING", ext="",
             phone=CALLER)
        card = page.locator(".xvb-desk-call")
        expect(card).to_be_visible()
        expect(card.locator(".xvb-desk-name")).to_have_text("Вася")
        seen["pop-up"] = page.evaluate("window.__cspViolations")

    assert seen == {path: [] for path in [*pages, "pop-up"]}
    assert [text for text in console if "Content Security Policy" in text] == []
