"""Measure the live call pop-up's poll (`GET /desk/poll/`) with many agents logged in.

Builds a fresh database with benchmarks/harness.py (SQLite in a temporary folder, or a
PostgreSQL database it creates and drops), seeds 50 agents with staff users and
contacts, a call log (100k calls over a year, a few live: some ringing, some answered, and some
left "in progress" hours ago by a lost COMPLETED), logs every agent in (a session each), serves
the CRM with gunicorn (2 sync workers) and polls from separate client processes, one request
per connection, cycling through the 50 agents' session cookies. It is a measurement, not a test.

    python benchmarks/desk_poll.py
    python benchmarks/desk_poll.py --concurrency 4
    python benchmarks/desk_poll.py --database-url postgres://postgres@127.0.0.1:5432/xvb_desk
"""
import argparse
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import harness  # benchmarks/harness.py, beside this script
import lookup
from harness import Probe, row, send
from lookup import AGENTS

CONTACTS = 20_000
LIVE_RINGING = 4  # agents 0-3: a call ringing, routed to them
LIVE_ANSWERED = 4  # agents 4-7: a call they answered
STALE = 300  # calls whose COMPLETED never came
POLL = "/desk/poll/"


def poll_request(session_key: str, path: str = POLL) -> bytes:
    """A browser's poll: GET with the session cookie, one request per connection."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
        f"Cookie: sessionid={session_key}\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def seed_desk(env: dict[str, str], calls: int, rng: random.Random) -> tuple[str, list[str]]:
    """Agents, contacts (lookup.seed), users and sessions, the call log; (database, sessions)."""
    database = lookup.seed(env, CONTACTS)  # sets Django up in this process
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection, connections
    from django.utils import timezone

    from calls.models import Call
    from contacts.models import Agent

    agents = list(Agent.objects.order_by("extension"))
    sessions = []
    for agent in agents:
        user = User(username=f"agent{agent.extension}", is_staff=True)
        user.set_unusable_password()
        user.save()
        agent.user = user
        agent.save(update_fields=["user"])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)

    now = timezone.now()
    year = timedelta(days=365).total_seconds()
    outcomes = ["answered"] * 7 + ["missed", "missed", "busy"]
    for start in range(0, calls, lookup.BATCH):
        rows = []
        for n in range(start, min(start + lookup.BATCH, calls)):
            i = rng.randrange(CONTACTS)
            outcome = outcomes[n % len(outcomes)]
            stale = n < STALE
            rows.append(Call(
                callid=f"bench-{n}", direction="in" if n % 3 else "out",
                phone=f"+7920{i:07d}", outcome="in_progress" if stale else outcome,
                agent=agents[(i * 7) % AGENTS] if outcome == "answered" else None,
                routed_to=agents[(i * 7) % AGENTS],
                started_at=now - timedelta(seconds=3 * 3600 + rng.random() * year),
                duration=None if stale else rng.randrange(5, 600),
            ))
        Call.objects.bulk_create(rows)
    for a in range(LIVE_RINGING + LIVE_ANSWERED):
        # A regular caller (a long history) ringing for, or answered by, agents 0-7.
        answered = a >= LIVE_RINGING
        Call.objects.create(
            callid=f"live-{a}", direction="in", phone=f"+7920{a:07d}",
            outcome="in_progress", started_at=now - timedelta(seconds=30),
            routed_to=agents[a], agent=agents[a] if answered else None,
            answered_at=now if answered else None,
        )
        Call.objects.bulk_create(
            Call(callid=f"past-{a}-{k}", direction="in", phone=f"+7920{a:07d}",
                 outcome="answered", agent=agents[a], duration=60,
                 started_at=now - timedelta(days=k + 1))
            for k in range(40)
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connections.close_all()
    return database, sessions


def expected_live(agent: int) -> list[str]:
    return [f"live-{agent}"] if agent < LIVE_RINGING + LIVE_ANSWERED else []


def check(port: int, sessions: list[str]) -> list[str]:
    """Every agent sees exactly their own live call (and an anonymous poll gets 401)."""
    problems = []
    for agent, key in enumerate(sessions):
        status, body, _ = send(port, poll_request(key))
        callids = json.loads(body)["callids"] if status == 200 else None
        if callids != expected_live(agent):
            problems.append(f"agent {agent}: {status} {callids}, expected {expected_live(agent)}")
    status, _, _ = send(port, poll_request("nobody"))
    if status != 401:
        problems.append(f"anonymous poll: {status}, expected 401")
    return problems


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--database-url", help="as in benchmarks/lookup.py")
    parser.add_argument("--seed", type=int, default=2024)
    return parser.parse_args()


def run(args: argparse.Namespace, stack: ExitStack) -> None:
    def say(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    database_url = stack.enter_context(harness.fresh_database(args.database_url))
    env = harness.server_env(database_url, secrets.token_hex(8))
    harness.migrate(env)
    started = time.perf_counter()
    database, sessions = seed_desk(env, args.calls, random.Random(args.seed))
    say(f"seeded {AGENTS} agents, {CONTACTS} contacts, {args.calls} calls on {database} "
        f"in {time.perf_counter() - started:.0f} s")
    port = harness.free_port()
    log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xvbcrm-bench-"))) / "log"
    stack.enter_context(harness.gunicorn(env, port, log))
    if problems := check(port, sessions):
        raise SystemExit("wrong answers:\n" + "\n".join(problems))

    live = LIVE_RINGING + LIVE_ANSWERED
    everyone = [Probe(poll_request(key), 200, None) for key in sessions]
    idle = everyone[live:]
    busy = everyone[:live]
    anonymous = [Probe(poll_request("nobody"), 401, None)]

    def cycle(probes: list[Probe], count: int) -> list[Probe]:
        return [probes[n % len(probes)] for n in range(count)]

    runs = [
        ("poll, 50 agents in turn", everyone),
        ("poll, no live call", idle),
        ("poll, a live call", busy),
        ("poll, anonymous (401)", anonymous),
        ("GET / (no database)", [Probe(harness.http_request("GET", "/", b""), 302, None)]),
    ]
    say(f"gunicorn, {harness.WORKERS} sync workers, on 127.0.0.1:{port}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; one request per connection, "
        f"{args.concurrency} client process(es); 50 agents polling every 2 s need 25 req/s")
    print(row([name for name, _ in harness.COLUMNS]).replace("contacts", "   calls"))
    harness.measure_runs(
        port,
        [(path, cycle(probes, harness.WARMUP), cycle(probes, args.requests))
         for path, probes in runs],
        database=database, size=args.calls, concurrency=args.concurrency, say=say,
    )

def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with ExitStack() as stack:
        run(args, stack)


if __name__ == "__main__":
    main()
