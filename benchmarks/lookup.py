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
import json
import multiprocessing
import os
import queue
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
AGENTS = 50
BATCH = 5000
WORKERS = int(os.environ.get("BENCH_WORKERS") or 2)
WARMUP = 200
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


# --- the database ----------------------------------------------------------------------------


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def _sqlite_path(url: str) -> Path:
    # sqlite:////abs/path -> /abs/path, sqlite:///rel -> rel (django-environ's reading)
    return Path(unquote(urlsplit(url).path)[1:])


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """Yield the URL of an empty database made for this run, and remove it afterwards."""
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="xvbcrm-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.sqlite3'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    elif _is_sqlite(url):
        path = _sqlite_path(url)
        if path.exists():
            raise SystemExit(f"{path} exists; give the name of a SQLite file to create")
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        with _postgres_database(url):
            yield url


def _postgres_admin(url: str):  # noqa: ANN202 - psycopg is imported lazily
    import psycopg

    return psycopg.connect(url, dbname="postgres", autocommit=True)


@contextmanager
def _postgres_database(url: str) -> Iterator[None]:
    """Create the PostgreSQL database named in `url`, and drop it afterwards."""
    from psycopg import sql

    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name or name == "postgres":
        raise SystemExit("name the database to create in --database-url, e.g. .../xvbcrm_bench")
    with _postgres_admin(url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            raise SystemExit(f"database {name!r} exists; drop it or name another one")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        with _postgres_admin(url) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_env(database_url: str, access_code: str) -> dict[str, str]:
    """The environment the CRM runs with: this database, production-like settings."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "PBX_ACCESS_CODE": access_code,
        "PHONE_DEFAULT_REGION": "RU",
        "LOG_LEVEL": "WARNING",
        # Plain http on 127.0.0.1, as behind the TLS proxy: no redirect of the admin to https.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        # Another settings module (on PYTHONPATH) lets one measure a variation of the settings.
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "xvbcrm.settings"),
    }


def migrate(env: dict[str, str]) -> None:
    """Run the project's migrations on the benchmark database."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT, env=env, check=True,
    )


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
    label = database_label(connection)
    connections.close_all()
    return label


def database_label(connection: object) -> str:
    """The database a Django connection is on, as the figures name it: `PostgreSQL 17.2`."""
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    """Serve the CRM with gunicorn's sync workers until the block ends; yield the master."""
    command = [
        sys.executable, "-m", "gunicorn", "xvbcrm.wsgi",
        "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]
    with log.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
        try:
            _wait_until_serving(server, port, log)
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_serving(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read_text()}")
        try:
            if send(port, http_request("GET", "/", b""))[0] == 302:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not answer on port {port}:\n{log.read_text()}")


# --- the client ------------------------------------------------------------------------------


def http_request(method: str, path: str, body: bytes) -> bytes:
    """A request exactly as the PBX's Perl LWP client writes it (see shared/pbx-protocol.md)."""
    head = f"{method} {path} HTTP/1.1\r\nTE: deflate,gzip;q=0.3\r\nConnection: TE, close\r\n"
    head += "Host: localhost\r\n"
    if method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
    return (head + "\r\n").encode("ascii") + body


def send(port: int, request: bytes) -> tuple[int, bytes, float]:
    """Send one request on a new connection; its status, body and seconds until fully read."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw and (chunk := sock.recv(65536)):
            raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(":", 1) for line in lines[1:] if ":" in line)
        length = int(headers.get("content-length", "0"))
        while len(body) < length and (chunk := sock.recv(65536)):
            body += chunk
    return int(lines[0].split()[1]), body, time.perf_counter() - started


@dataclass(frozen=True)
class Probe:
    """One request to send and what must come back (`answer` None: only the status counts)."""

    request: bytes
    status: int
    answer: dict[str, str] | None


def _problem(probe: Probe, status: int, body: bytes) -> str:
    if status != probe.status:
        return f"status {status}, expected {probe.status}: {body[:200]!r}"
    if probe.answer is not None and json.loads(body.decode("utf-8")) != probe.answer:
        return f"answer {body.decode('utf-8')}, expected {probe.answer}"
    return ""


def _client(port: int, probes: list[Probe], go: object, results: object) -> None:
    """One client process: wait for the start signal, send its share, report timings."""
    latencies, problems = [], []
    go.wait()
    for probe in probes:
        try:
            status, body, seconds = send(port, probe.request)
            latencies.append(seconds)
            if problem := _problem(probe, status, body):
                problems.append(problem)
        except (OSError, ValueError) as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
    results.put((latencies, problems, time.perf_counter()))


@dataclass(frozen=True)
class Figures:
    """What one measured run came to."""

    requests: int
    errors: list[str]
    per_second: float
    latencies: list[float]


def _report(results: object, clients: list) -> tuple[list[float], list[str], float]:
    """The next client's report; stop if a client died without one."""
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            if any(client.exitcode not in (None, 0) for client in clients):
                raise SystemExit("a client process failed") from None


def measure(port: int, probes: list[Probe], concurrency: int) -> Figures:
    """Send `probes` from `concurrency` separate client processes, each one at a time."""
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    clients = [
        context.Process(
            target=_client, args=(port, probes[n::concurrency], go, results), daemon=True
        )
        for n in range(concurrency)
    ]
    try:
        for client in clients:
            client.start()
        time.sleep(1)  # let the clients start up before the clock runs
        started = time.perf_counter()
        go.set()
        reports = [_report(results, clients) for _ in clients]
    finally:
        for client in clients:
            if client.is_alive():
                client.terminate()
            client.join()
    finished = max(report[2] for report in reports)
    latencies = [seconds for report in reports for seconds in report[0]]
    errors = [problem for report in reports for problem in report[1]]
    return Figures(len(probes), errors, len(probes) / (finished - started), latencies)


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


# --- the report ------------------------------------------------------------------------------

COLUMNS = [
    ("path", 26), ("database", 17), ("contacts", 8), ("requests", 8), ("conc.", 5),
    ("errors", 6), ("req/s", 7), ("median ms", 9), ("p90 ms", 7), ("p99 ms", 7), ("max ms", 7),
]


def row(cells: list[str]) -> str:
    """One line of the table."""
    return "  ".join(
        cell.ljust(width) if n < 2 else cell.rjust(width)
        for n, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
    )


def figures_row(path: str, database: str, contacts: int, concurrency: int, f: Figures) -> str:
    """The table line for one measured run."""
    ms = sorted(seconds * 1000 for seconds in f.latencies) or [float("nan")]
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return row([
        path, database, str(contacts), str(f.requests), str(concurrency), str(len(f.errors)),
        f"{f.per_second:.0f}", f"{statistics.median(ms):.2f}", f"{cuts[89]:.2f}",
        f"{cuts[98]:.2f}", f"{ms[-1]:.2f}",
    ])


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


def measure_runs(
    port: int, runs: list[tuple[str, list[Probe], list[Probe]]], *, database: str, size: int,
    concurrency: int, say: Callable[[str], None],
) -> None:
    """Warm up and measure each run (name, warm-up probes, probes), print its row; exit 1
    after the table if any answer was wrong."""
    failures = []
    for path, warmup_probes, probes in runs:
        # At least one sender per worker, so that no worker meets its first request measured.
        measure(port, warmup_probes, max(concurrency, WORKERS))
        figures = measure(port, probes, concurrency)
        print(figures_row(path, database, size, concurrency, figures), flush=True)
        failures += [f"{path}: {problem}" for problem in figures.errors[:5]]
    say(f"load average {os.getloadavg()[0]:.2f}")
    for failure in failures:
        say(f"error: {failure}")
    if failures:
        raise SystemExit(1)


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
