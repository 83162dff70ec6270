"""Screenshots of the screens an agent lives in, for docs/screenshots/ (`make screenshots`).

Builds a throwaway SQLite database with the demo agents and contacts (`manage.py
demo_data`), a superuser linked to agent 100, and a week of calls recorded as the PBX's
webhook records them (answered, missed with their callbacks, outgoing, with recordings);
serves it with gunicorn and opens it in Debian's chromium (Playwright) at 1366×768, logged
in, in Russian (or `--language en`), and saves each screen as a PNG:

    front-page.png     the admin's front page (the desk, then Calls and Contacts)
    contact-card.png   a contact's page: who is responsible, lead or not, last contact
    contact-timeline.png   the same page scrolled to the client's timeline
    call-log.png       the call log
    search.png         the header search's results for a number typed as a person would

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--language ru|en]
"""
import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.app_server import clean_environment, gunicorn  # noqa: E402
from tests.browser import find_chromium, launched, log_in  # noqa: E402

WIDTH, HEIGHT = 1366, 768
PASSWORD = secrets.token_urlsafe(16)
CLIENT = "79201119613"  # Вася, of the demo contacts and the vendor's captures


def environment(database: Path) -> dict[str, str]:
    return clean_environment(
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="true",  # as `make run`: plain http on loopback
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        PBX_ACCESS_CODE="screenshots",
        DB_CONN_MAX_AGE="0",
    )


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def seed(env: dict[str, str]) -> int:
    """The demo data and a week of calls; the id of the contact whose card is shown."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "xvbcrm.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from calls.assembly import record_event
    from calls.demo import create_demo_data
    from calls.models import Callback
    from calls.pbx import protocol
    from contacts.models import Contact, ContactPhone

    user = get_user_model().objects.create_superuser("admin", "", PASSWORD)
    create_demo_data(user=user)
    now = timezone.now().replace(second=0, microsecond=0)
    numbers = [CLIENT, "79035550123", "79165550147", "79265550182", "79211234567"]
    for n in range(40):
        phone = numbers[n % len(numbers)]
        started = now - timedelta(hours=4 * n + 1, minutes=7 * n)
        kind = ("answered", "answered", "missed", "outgoing")[n % 4]
        callid = f"shot-{n}"
        ext = ("100", "101", "102")[n % 3]
        link = f"https://pbx.example/ui/msg_download/120/10019/{callid}.mp3"
        events = {
            "answered": [
                {"type": "in", "event": "INCOMING", "ext": ""},
                {"type": "in", "event": "ANSWERED", "ext": ext},
                {"event": "COMPLETED", "status": "Success", "duration": str(40 + 13 * n),
                 "ext": ext, "record_link": link},
            ],
            "missed": [
                {"type": "in", "event": "INCOMING", "ext": ""},
                {"event": "COMPLETED", "status": "Missed", "duration": "0", "ext": ""},
            ],
            "outgoing": [
                {"type": "out", "event": "OUTGOING", "ext": ext},
                {"event": "COMPLETED", "status": "Success", "duration": str(25 + 7 * n),
                 "ext": ext, "record_link": link},
            ],
        }[kind]
        for step, fields in enumerate(events):
            command = protocol.parse_command(
                {"cmd": "event", "callid": callid, "phone": phone, **fields}
            )
            record_event(event=command, received_at=started + timedelta(seconds=20 * step))
    # The history above came in over a week, but was recorded just now: date what recording
    # it stamped with the clock as the PBX's events would have (the contacts a week before,
    # each callback when its missed call ended, closed when the call that reached the client
    # was answered).
    Contact.objects.update(created_at=now - timedelta(days=8))
    for callback in Callback.objects.select_related("missed_call", "closed_by"):
        callback.created_at = callback.missed_call.ended_at
        if callback.closed_by is not None:
            callback.closed_at = callback.closed_by.answered_at or callback.closed_by.started_at
        callback.save(update_fields=["created_at", "closed_at"])
    return ContactPhone.objects.get(number=f"+{CLIENT}").contact_id


def shoot(base_url: str, contact_id: int, out: Path, language: str) -> list[Path]:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium")
    screens = {
        "front-page.png": "/admin/",
        "contact-card.png": f"/admin/contacts/contact/{contact_id}/change/",
        "call-log.png": "/admin/calls/call/",
    }
    saved = []
    with launched(chromium) as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                      locale=language, extra_http_headers={
                                          "Accept-Language": language})
        page = context.new_page()
        log_in(page, base_url, "admin", PASSWORD)
        page.wait_for_url(f"{base_url}/admin/")
        for name, path in screens.items():
            page.goto(f"{base_url}{path}")
            if name == "contact-card.png":  # the summary in the header, then the timeline
                page.screenshot(path=out / "contact-card.png")
                page.locator("#timeline").scroll_into_view_if_needed()
                page.screenshot(path=out / "contact-timeline.png")
                saved += [out / "contact-card.png", out / "contact-timeline.png"]
                continue
            page.screenshot(path=out / name)
            saved.append(out / name)
        # The header's search box, as a person uses it: a number typed in their own format.
        page.goto(f"{base_url}/admin/")
        page.fill("#xvb-search input[name=q]", "8 (920) 111-96-13")
        page.keyboard.press("Enter")
        page.wait_for_url("**/admin/search/**")
        page.screenshot(path=out / "search.png")
        saved.append(out / "search.png")
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--language", choices=["ru", "en"], default="ru")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xvbcrm-shots-") as folder:
        env = environment(Path(folder) / "db.sqlite3")
        manage(env, "migrate", "--no-input")
        manage(env, "collectstatic", "--no-input")
        contact_id = seed(env)
        with gunicorn(cwd=ROOT, env=env, log=Path(folder) / "gunicorn.log") as base_url:
            for path in shoot(base_url, contact_id, args.out, args.language):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
