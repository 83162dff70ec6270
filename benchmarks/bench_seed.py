"""The Django side of `make bench`, run by benchmarks/bench.py as a subprocess per step.

    python benchmarks/bench_seed.py csv FILE FIRST COUNT   # contacts FIRST.. as a CSV to import
    python benchmarks/bench_seed.py agents                 # the 50 agents (one in ten inactive)
    python benchmarks/bench_seed.py calls COUNT CONTACTS   # a call log, as the webhook leaves it
    python benchmarks/bench_seed.py status                 # {"contacts": n, "calls": n} as JSON
    python benchmarks/bench_seed.py forget-ingest          # drop the calls earlier ingests sent
    python benchmarks/bench_seed.py session                # a superuser's session key
    python benchmarks/bench_seed.py analyze                # refresh the planner's statistics
    python benchmarks/bench_seed.py queries                # statements per event, as JSON

The database is the one DATABASE_URL names (bench.py passes the benchmark's environment).
Contacts are stored by the project's importer (`manage.py import_contacts`), calls with the
fields the webhook fills in, in bulk.
"""
import base64
import csv
import json
import random
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import database_label  # noqa: E402
from lookup import (  # noqa: E402
    AGENTS,
    BATCH,
    agent_extension,
    agent_is_active,
    contact_fields,
)

UNKNOWN_CALLER_PREFIX = "+7923"  # calls from numbers no contact has (lookup's probes use 7922)


def write_csv(path: str, first: int, count: int) -> None:
    """Contacts first..first+count-1 as a UTF-8 CSV file like a CRM export."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "company", "phones", "responsible", "email"])
        for i in range(first, first + count):
            name, company, responsible = contact_fields(i)
            phones = [f"+7 920 {i:07d}"]
            if i % 3 == 0:
                phones.append(f"8 (921) {i:07d}")
            writer.writerow([
                name, company, "; ".join(phones),
                agent_extension(responsible) if responsible is not None else "",
                f"client{i}@example.ru" if i % 5 == 0 else "",
            ])


def _setup() -> None:
    import django

    django.setup()


def seed_agents() -> None:
    """The team, as lookup.py seeds it (the importer then finds them by extension)."""
    from contacts.models import Agent

    Agent.objects.bulk_create(
        (Agent(extension=agent_extension(a), name=f"Агент {a}", is_active=agent_is_active(a))
         for a in range(AGENTS)),
        ignore_conflicts=True,
    )


def seed_calls(count: int, contacts: int) -> None:
    """`count` finished calls from the contacts' numbers (10 % unknown), 31 days to a year old:
    older than ROUTING_LAST_TALKED_DAYS, so the lookup still answers the responsible agent."""
    from django.utils import timezone

    from calls.models import Call, RouteReason
    from contacts.models import Agent, ContactPhone

    rng = random.Random(5)
    agents = list(Agent.objects.order_by("extension"))
    now = timezone.now()
    year = timedelta(days=365).total_seconds()
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        indexes = [rng.randrange(contacts) for _ in range(size)]
        numbers = [f"+7920{i:07d}" for i in indexes]
        owners = dict(
            ContactPhone.objects.filter(number__in=set(numbers)).values_list("number", "contact")
        )
        rows = []
        for n, (i, number) in enumerate(zip(indexes, numbers, strict=True)):
            known = rng.random() < 0.9
            phone = number if known else f"{UNKNOWN_CALLER_PREFIX}{rng.randrange(10**7):07d}"
            incoming = rng.random() < 0.6
            answered = rng.random() < 0.8
            agent = agents[(i * 7) % AGENTS]
            started = now - timedelta(days=31, seconds=rng.random() * (year - 31 * 86400))
            callid = base64.urlsafe_b64encode(rng.randbytes(16)).rstrip(b"=").decode()
            duration = rng.randrange(5, 900) if answered else None
            if incoming:
                outcome = Call.Outcome.ANSWERED if answered else Call.Outcome.MISSED
            else:
                outcome = Call.Outcome.ANSWERED if answered else Call.Outcome.NO_ANSWER
            rows.append(Call(
                callid=f"{callid}{start + n}",
                direction=Call.Direction.IN if incoming else Call.Direction.OUT,
                phone=phone, line_number="+74951234567" if incoming else "",
                contact_id=owners.get(phone), agent=agent if answered or not incoming else None,
                status="Success" if answered else "Missed", outcome=outcome,
                duration=duration,
                record_link=f"https://pbx.example/ui/msg_download/{callid}.mp3" if answered else "",
                started_at=started,
                answered_at=started + timedelta(seconds=rng.randrange(2, 30)) if answered else None,
                ended_at=started + timedelta(seconds=(duration or 0) + 30),
                routed_to=agent if incoming else None,
                route_reason=(
                    RouteReason.RESPONSIBLE if incoming and phone in owners
                    else RouteReason.UNKNOWN if incoming else ""
                ),
            ))
        Call.objects.bulk_create(rows)


def status() -> None:
    from calls.models import Call
    from contacts.models import Contact

    print(json.dumps({
        "contacts": Contact.objects.filter(is_lead=False).count(),
        "calls": Call.objects.count(),
    }))


def forget_calls(callid_prefix: str) -> None:
    """Drop the calls a measurement sent (their callids start with the prefix): their answered
    calls would make their agents the ones later lookups of those contacts name."""
    from calls.dashboard.rollup import forget_rollup
    from calls.models import Call

    Call.objects.filter(callid__startswith=callid_prefix).delete()
    forget_rollup()


def queries() -> None:
    """The statements one call's events cost through the webhook, in-process, counted as
    tests/calls/test_event_queries.py counts them: a known client (its responsible active)
    looked up, called in, answered, finished with a recording. The call is dropped after."""
    from urllib.parse import urlencode

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from calls.models import Call

    i = next(i for i in range(1000) if (r := contact_fields(i)[2]) is not None
             and agent_is_active(r))
    phone, ext = f"7920{i:07d}", agent_extension(contact_fields(i)[2])
    callid = "queries-count"
    forms = [
        ("lookup", {"cmd": "contact", "phone": phone}),
        ("INCOMING", {"cmd": "event", "type": "in", "event": "INCOMING", "ext": ""}),
        ("ANSWERED", {"cmd": "event", "type": "in", "event": "ANSWERED", "ext": ext}),
        ("COMPLETED", {"cmd": "event", "event": "COMPLETED", "status": "Success",
                       "duration": "16", "ext": ext,
                       "record_link": f"https://pbx.example/ui/msg_download/{callid}.mp3"}),
    ]
    counts = {}
    client = Client(HTTP_HOST="localhost")
    for kind, form in forms:
        body = urlencode({"access_code": settings.PBX_ACCESS_CODE, "callid": callid,
                          "phone": phone, **form})
        with CaptureQueriesContext(connection) as captured:
            client.post("/crm-api", body, content_type="application/x-www-form-urlencoded")
        counts[kind] = sum(
            not (query["sql"] or "").upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
            for query in captured.captured_queries
        )
    Call.objects.filter(callid=callid).delete()
    print(json.dumps(counts))


def session() -> None:
    """A superuser's session, stored in the database as a login would (see desk_poll.py)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.filter(username="bench").first()
    if user is None:
        user = User(username="bench", is_staff=True, is_superuser=True)
        user.set_unusable_password()
        user.save()
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    print(store.session_key)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    print(database_label(connection))


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "csv":
        write_csv(args[0], int(args[1]), int(args[2]))
        return
    _setup()
    steps = {
        "agents": seed_agents, "calls": lambda: seed_calls(int(args[0]), int(args[1])),
        "status": status, "session": session, "analyze": analyze, "queries": queries,
        "forget-ingest": lambda: forget_calls("ingest-"),  # a kept database: earlier runs
    }
    steps[command]()


if __name__ == "__main__":
    main()
