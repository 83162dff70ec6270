"""Measure the PBX caller lookup (`cmd=contact`) through real HTTP against many contacts.

Builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database named
by --database-url, which it creates and drops), migrates it, seeds contacts with phones and
responsible agents through the project's models, serves the CRM with gunicorn (2 sync workers)
and, from separate client processes, sends requests byte for byte as the PBX's LWP client does:
one request per TCP connection. Prints latency figures; it is a measurement, not a test.

    python benchmarks/lookup.py
    python benchmarks/lookup.py --concurrency 4
    python benchmarks/lookup.py --database-url postgres://postgres@127.0.0.1:5432/xvbcrm_bench

Besides the lookup it measures, on the same server, two reference paths that need no new URL:
`GET /` (a redirect, no database work: HTTP + gunicorn + Django) and the lookup's own request
with a wrong access code (403: the journal's INSERT and UPDATE, no contact query).
DJANGO_SETTINGS_MODULE, when set (with PYTHONPATH), serves a variation of the settings.
"""
import argparse
import os
import random
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    COLUMNS,
    ROOT,
    WARMUP,
    WORKERS,
    Probe,
    free_port,
    fresh_database,
    gunicorn,
    http_request,
    measure_runs,
    migrate,
    row,
    server_env,
)

AGENTS = 50
BATCH = 5000
KNOWN_SHARE = 0.9
MAX_CONTACTS = 9_000_000  # numbers are +7920/+7921 and seven digits of the contact's index
UNKNOWN_PREFIX = "7922"  # no seeded contact has a +7922 number


# --- the data set: one pure function of the contact's index, shared by seeding and checking ---


def agent_extension(index: int) -> str:
    """The extension of agent `index` (0-49): 101-150."""
    return str(101 + index)


def agent_is_active(index: int) -> bool:
    """One agent in ten has left, so the lookup must leave `responsible` out for them."""
    return index % 10 != 9


def contact_fields(i: int) -> tuple[str, str, int | None]:
    """Name, company and responsible agent index of contact `i`."""
    company = "" if i % 4 == 0 else f"ООО Компания {i % 997}"
    responsible = None if i % 10 == 0 else (i * 7) % AGENTS
    return f"Клиент {i}", company, responsible


def contact_digits(i: int) -> list[str]:
    """Contact `i`'s numbers as the PBX sends them (digits, no `+`); one in three has two."""
    numbers = [f"7920{i:07d}"]
    if i % 3 == 0:
        numbers.append(f"7921{i:07d}")
    return numbers


def expected_answer(i: int) -> dict[str, str]:
    """The JSON the CRM must answer for a call from any of contact `i`'s numbers."""
    name, company, responsible = contact_fields(i)
    answer = {"contact_name": f"{name}/{company}" if company else name}
    if responsible is not None and agent_is_active(responsible):
        answer["responsible"] = agent_extension(responsible)
    return answer


def seed(env: dict[str, str], contacts: int) -> str:
    """Store the agents and `contacts` contacts with their phones; return the database's name."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, connections

    from contacts.models import Agent, Contact, ContactPhone
    from contacts.phones import normalize_phone

    agents = Agent.objects.bulk_create(
        Agent(extension=agent_extension(a), name=f"Агент {a}", is_active=agent_is_active(a))
        for a in range(AGENTS)
    )
    agents = list(Agent.objects.filter(pk__in=[a.pk for a in agents]).order_by("extension"))
    for start in range(0, contacts, BATCH):
        indexes = range(start, min(start + BATCH, contacts))
        rows = []
        for i in indexes:
            name, company, responsible = contact_fields(i)
            agent = agents[responsible] if responsible is not None else None
            rows.append(Contact(name=name, company=company, responsible=agent))
        created = Contact.objects.bulk_create(rows)
        phones = []
        for i, contact in zip(indexes, created, strict=True):
            for digits in contact_digits(i):
                number = normalize_phone(digits)  # the app's own normalization: +7920...
                assert number == f"+{digits}", (digits, number)
                phones.append(ContactPhone(contact=contact, number=number))
        ContactPhone.objects.bulk_create(phones)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        version = connection.pg_version
        label = f"PostgreSQL {version // 10000}.{version % 10000}"
    else:
        import sqlite3

        label = f"SQLite {sqlite3.sqlite_version}"
    connections.close_all()
    return label



def lookup_probes(count: int, contacts: int, access_code: str, rng: random.Random) -> list[Probe]:
    """`cmd=contact` requests: 90 % from known numbers, 10 % from numbers nobody has."""
    probes = []
    for _ in range(count):
        if rng.random() < KNOWN_SHARE:
            i = rng.randrange(contacts)
            digits, answer = rng.choice(contact_digits(i)), expected_answer(i)
        else:
            digits, answer = f"{UNKNOWN_PREFIX}{rng.randrange(10**7):07d}", {}
        body = f"access_code={access_code}&cmd=contact&phone={digits}".encode("ascii")
        probes.append(Probe(http_request("POST", "/crm-api", body), 200, answer))
    return probes


def rejected_probes(probes: list[Probe], access_code: str, wrong_code: str) -> list[Probe]:
    """The same lookups with a wrong access code: journaled, answered 403, no contact query."""
    old, new = f"access_code={access_code}".encode(), f"access_code={wrong_code}".encode()
    return [Probe(probe.request.replace(old, new), 403, None) for probe in probes]


def redirect_probes(count: int) -> list[Probe]:
    """`GET /`: Django's redirect to the admin, no database work at all."""
    return [Probe(http_request("GET", "/", b""), 302, None)] * count



def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--database-url",
        help="default: a fresh SQLite file in a temporary folder; a PostgreSQL URL names a "
        "database this script creates and drops (it must not exist)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="random seed of the request mix")
    args = parser.parse_args()
    if not 1 <= args.contacts <= MAX_CONTACTS:
        parser.error(f"--contacts must be between 1 and {MAX_CONTACTS}")
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    return args


def run(args: argparse.Namespace, stack: ExitStack, say: Callable[[str], None]) -> None:
    """Prepare, serve, measure and print the table; `stack` undoes everything afterwards."""
    database_url = stack.enter_context(fresh_database(args.database_url))
    access_code = secrets.token_hex(8)
    env = server_env(database_url, access_code)
    migrate(env)
    started = time.perf_counter()
    database = seed(env, args.contacts)
    say(f"seeded {args.contacts} contacts on {database} in {time.perf_counter() - started:.0f} s")
    port = free_port()
    log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xvbcrm-bench-"))) / "log"
    stack.enter_context(gunicorn(env, port, log))
    rng = random.Random(args.seed)
    lookups = lookup_probes(args.requests, args.contacts, access_code, rng)
    warmup = lookup_probes(WARMUP, args.contacts, access_code, rng)
    wrong_code = secrets.token_hex(8)
    runs = [
        ("POST /crm-api cmd=contact", warmup, lookups),
        (
            "same, wrong code (403)",
            rejected_probes(warmup, access_code, wrong_code),
            rejected_probes(lookups, access_code, wrong_code),
        ),
        ("GET / (no database)", redirect_probes(WARMUP), redirect_probes(args.requests)),
    ]
    say(
        f"gunicorn, {WORKERS} sync workers, on 127.0.0.1:{port}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; one request per connection, "
        f"{args.concurrency} client process(es)"
    )
    print(row([name for name, _ in COLUMNS]))
    measure_runs(port, runs, database=database, size=args.contacts,
                 concurrency=args.concurrency, say=say)

def main() -> None:
    """Run the benchmark with the command line's settings, cleaning up in every case."""
    args = parse_args()

    def say(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    # A plain `kill` must clean up too: turn SIGTERM into an exception that unwinds the stack.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with ExitStack() as stack:
        run(args, stack, say)


if __name__ == "__main__":
    main()
