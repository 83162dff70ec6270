"""In a real browser (Debian's chromium) at a laptop's 1366×768: the call log, the callbacks
list and the PBX request journal fit the window with one-line rows, in Russian and in English,
and the call log's player and notes are still there, a click away."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from calls.models import Call, Callback, CallResult, PbxRequest, Recording
from contacts.models import Agent
from contacts.services import save_contact
from tests.browser import launched, log_in

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 768}
LISTS = ["/admin/calls/call/", "/admin/calls/callback/?state=all&assignee=all",
         "/admin/calls/pbxrequest/"]
NOTE = (
    "Клиент просил перезвонить после обеда: хочет обсудить продление договора поставки на "
    "следующий год, скидку за объём и сроки отгрузки со склада в Подольске. Уточнить у "
    "бухгалтерии, закрыт ли счёт № 4512 за прошлый квартал."
)
PBX_LINK = "https://vpbx18-dev/ui/msg_download/120/10019/f92H16GAUDE7R10EMOLYYw.mp3"

# What a row looks like to the user, measured in the page: the table must not scroll sideways
# inside its box either (Django's `.results` would hide an overflow there).
MEASURE = """() => {
    const table = document.querySelector('#result_list');
    const results = table.closest('.results');
    const cell = table.querySelector('tbody td');
    const style = getComputedStyle(cell);
    let line = parseFloat(style.lineHeight);
    if (Number.isNaN(line)) line = 1.2 * parseFloat(style.fontSize);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return {
        page: document.documentElement.scrollWidth,
        window: window.innerWidth,
        table: results.scrollWidth,
        box: results.clientWidth,
        line: line,
        padding: padding,
        rows: [...table.querySelectorAll('tbody tr')].map(
            (row) => row.getBoundingClientRect().height),
    };
}"""


@pytest.fixture
def anna() -> User:
    """An agent who may see all three lists, listen to every recording and place calls."""
    user = User.objects.create_user("anna", password="anna-pw-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_call", "change_call", "view_callback", "change_callback", "view_pbxrequest",
        "change_pbxrequest", "place_calls", "listen_all_recordings", "view_contact",
    ]))
    Agent.objects.create(extension="100", name="Анна Александровна Константинопольская",
                         user=user)
    return user


@pytest.fixture
def busy_day(anna: User) -> None:
    """A day's worth of rows with the longest names, companies, notes and states there are."""
    anna_agent = anna.agent
    vladimir = Agent.objects.create(extension="1015",
                                    name="Владимир Вячеславович Здравомыслов-Щербацкий")
    result = CallResult.objects.create(name="Договорились о повторной встрече в офисе клиента")
    contacts = [
        save_contact(name=name, company=company, phones=[phone], responsible=anna_agent)
        for name, company, phone in [
            ("Александра Викторовна Преображенская",
             "ООО «Северо-Западная торгово-промышленная компания»", "+79201119613"),
            ("Константин Константинович Верхнеднепровский",
             "АО «Научно-производственное объединение „Электроавтоматика“»", "+74957771122"),
            ("Вася", "Рога и Копыта", "+79035550101"),
        ]
    ]
    now = timezone.now()
    shapes = [  # direction, outcome, talk time, recording status
        ("in", "answered", 3725, Recording.Status.ARCHIVED),
        ("in", "missed", None, None),
        ("out", "answered", 95, Recording.Status.PENDING),
        ("out", "no_answer", None, None),
        ("in", "answered", 41, Recording.Status.LOST),
        ("in", "missed", None, None),
        ("in", "in_progress", None, None),
    ]
    open_callbacks = set()  # one open callback per number
    for n in range(28):
        direction, outcome, duration, status = shapes[n % len(shapes)]
        contact = contacts[n % 3] if n % 4 else None
        phone = contact.phones.first().number if contact else f"+7916{1000000 + n:07d}"
        # Today's calls, then a few of earlier days this year and of last year.
        started = now - (timedelta(minutes=37 * n) if n < 20
                         else timedelta(days=(n - 19) * 9) if n < 26 else timedelta(days=400 + n))
        call = Call.objects.create(
            callid=f"DVzqd2I5zmRev0vLvxVe{n:04d}", direction=direction, phone=phone,
            contact=contact, outcome=outcome, duration=duration, started_at=started,
            agent=(anna_agent if n % 2 else vladimir) if outcome != "missed" else None,
            routed_to=anna_agent, record_link=PBX_LINK if status else "",
            note=NOTE if n % 3 == 0 else "", result=result if n % 3 == 0 else None,
            status="Success" if outcome == "answered" else outcome.upper(),
        )
        if status:
            Recording.objects.create(
                call=call, source_url=PBX_LINK, status=status, content_type="audio/mpeg",
                error="получен ответ 404 Not Found от vpbx18-dev после 9 попыток за 7 дней"
                if status == Recording.Status.LOST else "",
            )
        if outcome == "missed":
            closed = phone in open_callbacks or n % 3 == 0
            Callback.objects.create(
                phone=phone, contact=contact, agent=anna_agent if n % 2 else None,
                missed_call=call, created_at=started,
                closed_at=started + timedelta(hours=2) if closed else None,
                waited=timedelta(hours=2, minutes=n) if closed else None,
            )
            open_callbacks |= set() if closed else {phone}
        for event in ("INCOMING", "ANSWERED", "COMPLETED"):
            PbxRequest.objects.create(
                received_at=started, remote_addr="2001:db8:85a3::8a2e:370:7334",
                method="POST", cmd="event", event=event, callid=call.callid,
                phone=phone.lstrip("+"), outcome=PbxRequest.Handling.RECEIVED if n == 5
                else PbxRequest.Handling.THROTTLED if n == 6 else PbxRequest.Handling.ACCEPTED,
                response_status=429 if n == 6 else 200, call=call,
            )


def laptop_page(browser, base_url: str, locale: str):  # noqa: ANN001, ANN201
    page = browser.new_page(locale=locale, viewport=LAPTOP)
    log_in(page, base_url, "anna", "anna-pw-1")
    page.wait_for_url(f"{base_url}/admin/")
    return page


def assert_fits(page, url: str) -> None:  # noqa: ANN001
    """The list is no wider than the window and each of its rows is one line tall."""
    page.goto(url)
    seen = page.evaluate(MEASURE)
    print(url, {key: value for key, value in seen.items() if key != "rows"},
          "tallest row", max(seen["rows"]))
    assert len(seen["rows"]) >= 7, url
    assert seen["page"] <= seen["window"], (url, seen["page"])
    assert seen["table"] <= seen["box"], (url, seen["table"], seen["box"])
    two_lines = 2 * seen["line"] + seen["padding"]
    assert max(seen["rows"]) < two_lines, (url, max(seen["rows"]), two_lines)


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_the_lists_fit_a_laptop_with_one_line_rows(live_server, chromium, busy_day, locale):
    with launched(chromium) as browser:
        page = laptop_page(browser, live_server.url, locale)
        expected_lang = locale[:2]
        assert page.locator("html").get_attribute("lang") == expected_lang
        for url in LISTS:
            assert_fits(page, f"{live_server.url}{url}")


WORDS = {  # what the user reads, in each language
    "ru-RU": {"open": "открытые", "me": "мне", "call back": "Перезвонить",
              "play": "Прослушать запись", "download": "скачать"},
    "en-US": {"open": "open", "me": "me", "call back": "Call back",
              "play": "Play the recording", "download": "download"},
}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_the_player_and_the_note_are_a_click_away(live_server, chromium, busy_day, locale):
    from playwright.sync_api import expect

    words = WORDS[locale]
    with launched(chromium) as browser:
        page = laptop_page(browser, live_server.url, locale)
        page.goto(f"{live_server.url}/admin/calls/call/")
        rows = page.locator("#result_list tbody tr")
        first = rows.first  # the newest call: answered, its recording archived
        height = first.bounding_box()["height"]
        audio = first.locator("audio")
        expect(audio).to_be_hidden()

        first.get_by_role("group").filter(has=page.locator("summary.xvb-play")).locator(
            "summary").click()

        expect(audio).to_be_visible()
        assert audio.get_attribute("src").startswith("/recordings/")
        expect(first.get_by_role("link", name=words["download"])).to_be_visible()
        # The player opens over the rows below: its row stays one line, the page as wide.
        assert first.bounding_box()["height"] == height
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        note = first.locator(".field-result_and_note summary")
        assert NOTE in note.get_attribute("title")
        expect(first.locator(".field-result_and_note .xvb-pop")).to_be_hidden()
        note.click()
        expect(first.locator(".field-result_and_note .xvb-pop")).to_contain_text(NOTE)
        assert first.bounding_box()["height"] == height

        # A missed call: "Call back" is a one-line button named for screen readers.
        expect(rows.get_by_role("button", name=words["call back"]).first).to_be_visible()
        expect(page.get_by_title(words["play"]).first).to_be_visible()


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_the_folded_filters_say_what_the_list_shows(live_server, chromium, busy_day, locale):
    from playwright.sync_api import expect

    words = WORDS[locale]
    with launched(chromium) as browser:
        page = laptop_page(browser, live_server.url, locale)
        page.goto(f"{live_server.url}/admin/calls/callback/")  # "mine and open" by default
        button = page.locator(".xvb-filters > summary")
        expect(button).to_contain_text(f"{words['open']}, {words['me']}")
        expect(page.locator("#changelist-filter")).to_be_hidden()

        button.click()

        expect(page.locator("#changelist-filter")).to_be_visible()
        expect(page.locator("#changelist-filter .selected")).to_have_text(
            [words["open"], words["me"], re.compile(".+")])
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
