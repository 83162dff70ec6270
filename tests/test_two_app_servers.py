"""Two app servers (gunicorn, two workers each) on one database: calls driven through both,
each event to either server, the live pop-up polled on the other; the Call rows and the pop-up
come out right, so nothing lives in a process's memory. The database is migrated once, by the
test run, before the servers start."""
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from calls.models import Call, PbxRequest
from contacts.models import Agent
from contacts.services import save_contact
from tests.app_server import clean_environment, gunicorn
from tests.conftest import ACCESS_CODE, lwp_request, send_raw

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parent.parent
CALLER = "79201119613"


def database_url() -> str:
    """The test database (the one this run migrated) as a DATABASE_URL."""
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def app_server(log: Path) -> Iterator[str]:
    """gunicorn with the project's gunicorn.conf.py, two workers, on a free port; its base URL."""
    env = clean_environment(
        DJANGO_SECRET_KEY="two-servers-one-database-secret-key-of-enough-length-42",
        DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        # Plain http on localhost (production has TLS at the proxy).
        DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SESSION_COOKIE_SECURE="false",
        DJANGO_CSRF_COOKIE_SECURE="false", DJANGO_SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url(), PBX_ACCESS_CODE=ACCESS_CODE, LANGUAGE_CODE="en",
        LOG_FORMAT="json",
    )
    with gunicorn(cwd=BASE_DIR, env=env, log=log, workers=2) as url:
        yield url


def post(url: str, **fields: str) -> dict:
    body = "&".join(f"{k}={v}" for k, v in {"access_code": ACCESS_CODE, **fields}.items())
    response = send_raw(url, lwp_request(body.encode()))
    assert response.status == 200, response.body
    return response.json()


def logged_in(url: str, username: str, password: str) -> requests.Session:
    """A browser-like session logged in through the admin's login form on `url`."""
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=10)
    response = session.post(f"{url}/admin/login/", timeout=10, allow_redirects=False, data={
        "username": username, "password": password, "next": "/admin/",
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    })
    assert response.status_code == 302, response.text
    return session


def poll(session: requests.Session, url: str) -> dict:
    response = session.get(f"{url}/desk/poll/", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def one_call(urls: list[str], callid: str, phone: str, *, answer: bool) -> None:
    """A call's lookup and events, each request to the next server in turn."""
    servers = iter(urls * 4)
    post(next(servers), cmd="contact", phone=phone)
    post(next(servers), cmd="event", callid=callid, type="in", event="INCOMING", ext="",
         phone=phone)
    if answer:
        post(next(servers), cmd="event", callid=callid, type="in", event="ANSWERED", ext="101",
             phone=phone)
    post(next(servers), cmd="event", callid=callid, event="COMPLETED", phone=phone, ext="101",
         status="Success" if answer else "missed", duration="16" if answer else "0")


def test_calls_through_two_app_servers_on_one_database(tmp_path):
    alice = User.objects.create_user("alice", password="alice-pw-1", is_staff=True)
    agent = Agent.objects.create(extension="100", name="Alice", user=alice)
    Agent.objects.create(extension="101", name="Bob")
    save_contact(name="Вася", company="Рога и Копыта", phones=[f"+{CALLER}"], responsible=agent)

    with ExitStack() as servers:
        a = servers.enter_context(app_server(tmp_path / "a.log"))
        b = servers.enter_context(app_server(tmp_path / "b.log"))
        desk = logged_in(b, "alice", "alice-pw-1")  # the session is stored in the database

        # The lookup on A, the events alternating, the pop-up polled on the other server.
        assert post(a, cmd="contact", phone=CALLER) == {
            "contact_name": "Вася/Рога и Копыта", "responsible": "100"
        }
        post(b, cmd="event", callid="two-1", type="in", event="INCOMING", ext="", phone=CALLER)
        ringing = poll(desk, a)
        assert ringing["callids"] == ["two-1"]
        assert "Incoming call" in ringing["html"] and "Вася" in ringing["html"]
        post(a, cmd="event", callid="two-1", type="in", event="ANSWERED", ext="100", phone=CALLER)
        assert "Call in progress" in poll(desk, b)["html"]
        post(b, cmd="event", callid="two-1", event="COMPLETED", status="Success", duration="16",
             ext="100", phone=CALLER, record_link="https%3A%2F%2Fpbx.example%2Fr.mp3")
        assert poll(desk, a)["callids"] == []
        assert poll(desk, b)["callids"] == []

        # More calls at once, each request to either server.
        with ThreadPoolExecutor(max_workers=6) as pool:
            done = [pool.submit(one_call, [a, b] if n % 2 else [b, a], f"two-{n}",
                                f"7916555{n:04d}", answer=n % 3 != 0) for n in range(2, 14)]
            for future in done:
                future.result()

    call = Call.objects.get(callid="two-1")
    assert (call.outcome, call.agent.extension, call.contact.name, call.duration) == (
        "answered", "100", "Вася", 16
    )
    assert list(call.events.values_list("event", flat=True)) == [
        "INCOMING", "ANSWERED", "COMPLETED"
    ]
    outcomes = dict(Call.objects.exclude(callid="two-1").values_list("callid", "outcome"))
    assert outcomes == {
        f"two-{n}": "answered" if n % 3 else "missed" for n in range(2, 14)
    }
    assert PbxRequest.objects.exclude(outcome="accepted").count() == 0
    events = 3 + sum(3 if n % 3 else 2 for n in range(2, 14))
    assert PbxRequest.objects.filter(cmd="event").count() == events  # never one lost
    # A lookup answers even when its journal row cannot be written within 0.4 s (on SQLite,
    # behind other servers' writes): the caller is waiting. Nearly always all 13 are kept.
    lookups = PbxRequest.objects.filter(cmd="contact").count()
    assert lookups == 13 or (connection.vendor == "sqlite" and lookups >= 11)
