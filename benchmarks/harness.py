"""What the benchmarks share: a database made for the run, gunicorn serving the CRM, clients
sending requests as the PBX does (one per TCP connection, from separate processes), and the
figures' table. A measurement harness, not a test; the scripts beside it use it.
"""
import json
import multiprocessing
import os
import queue
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
WORKERS = int(os.environ.get("BENCH_WORKERS") or 2)
WARMUP = 200


# --- the database ----------------------------------------------------------------------------


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
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
    elif is_sqlite(url):
        path = sqlite_path(url)
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


def postgres_admin(url: str):  # noqa: ANN202 - psycopg is imported lazily
    import psycopg

    return psycopg.connect(url, dbname="postgres", autocommit=True)


@contextmanager
def _postgres_database(url: str) -> Iterator[None]:
    """Create the PostgreSQL database named in `url`, and drop it afterwards."""
    from psycopg import sql

    name = unquote(urlsplit(url).path.lstrip("/"))
    if not name or name == "postgres":
        raise SystemExit("name the database to create in --database-url, e.g. .../xvbcrm_bench")
    with postgres_admin(url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            raise SystemExit(f"database {name!r} exists; drop it or name another one")
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        with postgres_admin(url) as admin:
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
        # Thousands of wrong codes from 127.0.0.1 (lookup.py's 403 row) are refused, not throttled;
        # every webhook still reads the throttle as in production.
        "PBX_THROTTLE_FAILURES": str(10**9),
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



@contextmanager
def kept_database(url: str) -> Iterator[str]:
    """Yield `url`, a database kept after the run (a PostgreSQL one created when missing)."""
    if is_sqlite(url):
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    else:
        from psycopg import sql

        name = unquote(urlsplit(url).path.lstrip("/"))
        with postgres_admin(url) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 [name]).fetchone():
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    env: dict[str, str], port: int, log: Path, *, root: Path = ROOT, python: str = sys.executable
) -> Iterator[subprocess.Popen]:
    """Serve the CRM (this checkout, or the one at `root` with its `python`) with gunicorn's
    sync workers until the block ends; yield the master."""
    command = [
        python, "-m", "gunicorn", "xvbcrm.wsgi",
        "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]
    with log.open("wb") as log_file:
        server = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=log_file)
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



def get_request(path: str, session: str) -> bytes:
    """A browser's GET of an admin page: the session cookie, one request per connection."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n"
        f"Accept-Language: ru\r\nCookie: sessionid={session}\r\nConnection: close\r\n\r\n"
    ).encode()


def timed_get(port: int, request: bytes) -> tuple[int, float, float, int]:
    """Status, seconds to the first byte, seconds to the last, body bytes (one connection)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(request)
        first = sock.recv(65536)
        ttfb = time.perf_counter() - started
        chunks = [first]
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), ttfb, time.perf_counter() - started, len(body)


@dataclass
class Pages:
    statuses: list[int]
    ttfb: list[float]
    total: list[float]
    size: int


def get_pages(port: int, request: bytes, count: int) -> Pages:
    timed_get(port, request)
    timed_get(port, request)  # both workers warm
    runs = [timed_get(port, request) for _ in range(count)]
    return Pages([r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs], runs[-1][3])


# --- the report ------------------------------------------------------------------------------

COLUMNS = [
    ("path", 26), ("database", 17), ("contacts", 8), ("requests", 8), ("conc.", 5),
    ("errors", 6), ("req/s", 7), ("median ms", 9), ("p90 ms", 7), ("p99 ms", 7), ("max ms", 7),
]


def ms(values: list[float], q: float) -> float:
    """The q-quantile of `values` (seconds) in milliseconds."""
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered) * 1000
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


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



# --- gunicorn's workers' memory -------------------------------------------------------------


def database_label(connection: object) -> str:
    """The database a Django connection is on, as the figures name it: `PostgreSQL 17.2`."""
    if connection.vendor == "postgresql":
        version = connection.pg_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


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


def _rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@dataclass
class MemorySampler:
    """The highest VmRSS of each gunicorn worker, sampled every 0.2 s in a thread."""

    master: int
    first: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        for pid in _children(self.master):
            if (rss := _rss(pid)) is not None:
                self.first.setdefault(pid, rss)
                self.peak[pid] = max(self.peak.get(pid, 0), rss)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()


@contextmanager
def serving(env: dict[str, str], folder: Path, name: str) -> Iterator[tuple[int, MemorySampler]]:
    """gunicorn on a free port with a memory sampler; yields (port, sampler)."""
    port = free_port()
    with gunicorn(env, port, folder / f"gunicorn-{name}.log") as server:
        sampler = MemorySampler(server.pid)
        sampler.sample()
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        try:
            yield port, sampler
        finally:
            sampler.stop.set()
            thread.join()
