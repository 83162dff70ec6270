"""`make bench`: the CRM at 10 000 and a million contacts and calls, over HTTP, beside a baseline.

Serves the CRM with gunicorn (2 sync workers, benchmarks/bench_settings.py: the project's
settings plus `GET /bench/constant/`, a view answering a constant JSON) and measures, from
separate client processes, one request per connection as the PBX sends them:

1. a database with 10 000 contacts (stored by `manage.py import_contacts`): the caller lookup;
2. `manage.py import_contacts` of a million more rows: wall time and the process's peak RSS,
   then the lookup at once on what it left (planned on the statistics the import left);
3. a million calls added in bulk (as the webhook leaves them): the caller lookup again, event
   ingest (INCOMING + ANSWERED + COMPLETED per call, 8 concurrent senders, and the slowest
   answer), the admin's call log and contact list (time to first byte; logged in by a
   session made in the database), and the dashboard: `rollup_calls` as its timer runs it,
   then the first view of a year.

The reference of the webhook's figures is the floor every kept request pays, the
journal-only path: the same requests with a wrong access code (the throttle read, the
request stored, nothing else), measured just before on the same server at the same
concurrency. The statements one event costs are counted in-process (`bench_seed.py
queries`). Each gunicorn worker's RSS is sampled from /proc throughout. The live pop-up poll
has its own script (benchmarks/desk_poll.py), not run here. It is a measurement, not a test.

    python benchmarks/bench.py                        # SQLite in a temporary folder
    python benchmarks/bench.py --quick                # 10k / 100k / 100k: a try in a few minutes
    python benchmarks/bench.py --database-url postgres://postgres@127.0.0.1:5432/xvb_bench
    python benchmarks/bench.py --keep postgres://postgres@127.0.0.1:5432/xvb_bench_kept

BENCH_WORKERS=5 (environment) serves with that many workers instead of 2, as gunicorn.conf.py
does on two cores by default; give as many clients (--concurrency 5) to keep them busy.

--keep URL keeps the database: the first run seeds it, later runs measure the million rows
again without seeding (the 10 000-contact lookup and the import then run on a scratch
database beside it: URL's name + `_scratch`, or a temporary SQLite file).
"""
import argparse
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import lookup  # noqa: E402
from harness import (  # noqa: E402
    Figures,
    MemorySampler,
    Pages,
    Probe,
    get_pages,
    get_request,
    http_request,
    kept_database,
    measure,
    ms,
    serving,
)

ROOT = HERE.parent
SEED = [sys.executable, str(HERE / "bench_seed.py")]
CONSTANT = "/bench/constant/"
SENDERS = 8
WRONG_CODE = "not-the-access-code"
MB = 1024 * 1024


# --- running the project's code in subprocesses ------------------------------------------------


def bench_env(database_url: str, access_code: str) -> dict[str, str]:
    """harness.server_env with the benchmark's settings (the constant view) on PYTHONPATH."""
    env = harness.server_env(database_url, access_code)
    env["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), str(ROOT),
                                                      os.environ.get("PYTHONPATH")]))
    return env


def seed_step(env: dict[str, str], *args: object) -> str:
    """Run one step of bench_seed.py on the benchmark's database; its output."""
    done = subprocess.run([*SEED, *map(str, args)], cwd=ROOT, env=env, check=True,
                          stdout=subprocess.PIPE, text=True)
    return done.stdout.strip()


@dataclass
class Import:
    rows: int
    seconds: float
    peak_rss: int  # bytes
    output: str


def import_contacts(env: dict[str, str], folder: Path, first: int, count: int) -> Import:
    """Write contacts first.. as a CSV file, import it with manage.py: time and peak RSS."""
    path = folder / f"contacts-{first}-{count}.csv"
    seed_step(env, "csv", path, first, count)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_contacts", str(path)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    output = process.stdout.read().decode("utf-8", "replace")
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would add every earlier child).
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    path.unlink()
    if process.returncode:
        raise SystemExit(f"import_contacts failed:\n{output}")
    return Import(count, seconds, usage.ru_maxrss * 1024, output.strip())


# --- requests ------------------------------------------------------------------------------------


def constant_probes(count: int) -> list[Probe]:
    return [Probe(http_request("GET", CONSTANT, b""), 200, {"ok": True})] * count


def stably_routed_contact(rng: random.Random, contacts: int) -> int:
    """A contact whose lookup answer no call changes: its responsible is active. (A call of a
    contact without one makes the agent who answered it the one its next lookup names, which
    a later run on a kept database would count as a wrong answer.)"""
    while True:
        i = rng.randrange(contacts)
        responsible = lookup.contact_fields(i)[2]
        if responsible is not None and lookup.agent_is_active(responsible):
            return i


def journal_only(probes: list[Probe], access_code: str) -> list[Probe]:
    """The same requests with a wrong access code: stored and refused (403), nothing else."""
    return lookup.rejected_probes(probes, access_code, WRONG_CODE)


def event_probes(calls: int, senders: int, access_code: str, contacts: int,
                 rng: random.Random) -> list[Probe]:
    """INCOMING, ANSWERED, COMPLETED of each call; sender n sends items n, n+senders, ..."""
    run = secrets.token_hex(4)
    per_sender: list[list[Probe]] = [[] for _ in range(senders)]
    for n in range(calls):
        digits = f"7920{stably_routed_contact(rng, contacts):07d}" if rng.random() < 0.9 else (
            f"7923{rng.randrange(10**7):07d}")
        callid = f"ingest-{run}-{n}"
        ext = lookup.agent_extension(rng.randrange(lookup.AGENTS))
        common = f"access_code={access_code}&cmd=event&callid={callid}&phone={digits}"
        link = quote(f"https://pbx.example/ui/msg_download/120/10019/{callid}.mp3", safe="")
        for body in (
            f"{common}&type=in&event=INCOMING&ext=",
            f"{common}&type=in&event=ANSWERED&ext={ext}",
            f"{common}&event=COMPLETED&status=Success&duration=16&ext={ext}&record_link={link}",
        ):
            per_sender[n % senders].append(
                Probe(http_request("POST", "/crm-api", body.encode("ascii")), 200, None)
            )
    # measure() gives client n the probes n, n+senders, ...: interleave to keep each order.
    return [probe for probes in zip(*per_sender, strict=True) for probe in probes]


# --- the table -----------------------------------------------------------------------------------


class Table:
    """Rows of `what | rows | figures | baseline of the same run | target`."""

    HEAD = (f"{'what':<44} {'rows':>9} {'n':>6} {'err':>4} {'req/s':>7} {'med ms':>8} "
            f"{'p99 ms':>8} | {'base r/s':>8} {'base med':>8} {'base p99':>8} {'ratio':>6} | "
            "target")

    def __init__(self) -> None:
        self.lines = [self.HEAD, "-" * len(self.HEAD)]
        self.misses: list[str] = []
        print(self.HEAD, flush=True)

    def add(self, line: str, ok: bool | None, what: str) -> None:
        self.lines.append(line)
        print(line, flush=True)
        if ok is False:
            self.misses.append(what)

    def http(self, what: str, rows: int, f: Figures, base: Figures, target: str,
             ok: bool | None, per_call: int = 1) -> None:
        rate = f.per_second / per_call
        self.add(
            f"{what:<44} {rows:>9} {f.requests // per_call:>6} {len(f.errors):>4} "
            f"{rate:>7.0f} {ms(f.latencies, .5):>8.2f} {ms(f.latencies, .99):>8.2f} | "
            f"{base.per_second:>8.0f} {ms(base.latencies, .5):>8.2f} "
            f"{ms(base.latencies, .99):>8.2f} {f.per_second / base.per_second:>6.0%} | "
            f"{target}{mark(ok)}",
            ok, what,
        )

    def page(self, what: str, rows: int, p: Pages, base: Pages, target: int, ok: bool) -> None:
        errors = sum(status != 200 for status in p.statuses)
        self.add(
            f"{what:<44} {rows:>9} {len(p.ttfb):>6} {errors:>4} {'ttfb':>7} "
            f"{ms(p.ttfb, .5):>8.1f} {ms(p.ttfb, .99):>8.1f} | {'ttfb':>8} "
            f"{ms(base.ttfb, .5):>8.2f} {ms(base.ttfb, .99):>8.2f} {'':>6} | "
            f"ttfb < {target} ms; full page med {ms(p.total, .5):.0f} ms, {p.size // 1024} KB"
            f"{mark(ok)}",
            ok, what,
        )

    def note(self, what: str, text: str, ok: bool | None) -> None:
        self.add(f"{what:<44} {text}{mark(ok)}", ok, what)


def mark(ok: bool | None) -> str:
    return "" if ok is None else ("  ok" if ok else "  MISSED")


# --- the run -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="as in lookup.py: created and dropped")
    parser.add_argument("--keep", metavar="URL",
                        help="a database kept between runs: seeded when empty, else reused")
    parser.add_argument("--quick", action="store_true",
                        help="100 000 contacts and calls instead of a million, fewer requests")
    parser.add_argument("--small", type=int, default=10_000, help="contacts of the first stage")
    parser.add_argument("--contacts", type=int, help="rows imported (default 1 000 000)")
    parser.add_argument("--calls", type=int, help="calls seeded (default 1 000 000)")
    parser.add_argument("--requests", type=int, help="lookups per measurement (default 4000)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="client processes of the lookup (default 2: one per worker)")
    parser.add_argument("--ingest-calls", type=int, help="calls sent (default 800)")
    parser.add_argument("--pages", type=int, default=15, help="GETs of each admin page")
    args = parser.parse_args()
    big = 100_000 if args.quick else 1_000_000
    args.contacts = args.contacts or big
    args.calls = args.calls or big
    args.requests = args.requests or (1000 if args.quick else 4000)
    args.ingest_calls = args.ingest_calls or (320 if args.quick else 800)
    if args.ingest_calls % SENDERS:
        parser.error(f"--ingest-calls must be a multiple of {SENDERS}")
    if args.keep and args.database_url:
        parser.error("give --keep or --database-url, not both")
    return args


def scratch_url(kept: str) -> str | None:
    """Beside a kept PostgreSQL database, `NAME_scratch`; for SQLite a temporary file (None)."""
    if harness.is_sqlite(kept):
        return None
    parts = urlsplit(kept)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_scratch"))


def run(args: argparse.Namespace, stack: ExitStack, say: callable) -> int:
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xvbcrm-bench-")))
    access_code = secrets.token_hex(8)
    rng = random.Random(2024)
    reuse = False
    if args.keep:
        big_url = stack.enter_context(kept_database(args.keep))
        big_env = bench_env(big_url, access_code)
        harness.migrate(big_env)
        seeded = json.loads(seed_step(big_env, "status"))
        reuse = seeded["calls"] >= args.calls and seeded["contacts"] >= args.small + args.contacts
        if reuse:
            seed_step(big_env, "forget-ingest")
    if reuse:
        small_url = stack.enter_context(harness.fresh_database(scratch_url(args.keep)))
    else:
        small_url = stack.enter_context(
            kept_database(args.keep) if args.keep else harness.fresh_database(args.database_url)
        )
        big_url = small_url
    small_env = bench_env(small_url, access_code)
    big_env = bench_env(big_url, access_code)

    # 1. 10 000 contacts: the lookup.
    harness.migrate(small_env)
    seed_step(small_env, "agents")
    import_contacts(small_env, folder, 0, args.small)
    database = seed_step(small_env, "analyze")
    say(f"{database}; {os.cpu_count()} CPUs; gunicorn {harness.WORKERS} sync workers; "
        f"load average {os.getloadavg()[0]:.2f}")
    table = Table()
    memory: list[tuple[str, MemorySampler]] = []
    lookups: dict[int, Figures] = {}
    with serving(small_env, folder, "small") as (port, sampler):
        memory.append((f"{args.small} contacts", sampler))
        lookups[args.small] = lookup_rows(table, port, args, args.small, access_code, rng)

    # 2. The import of a million rows (the stage-1 database then holds 1.01 M contacts).
    say(f"importing {args.contacts} contacts ...")
    done = import_contacts(small_env, folder, args.small, args.contacts)
    table.note(
        f"import_contacts, {done.rows} rows (CSV, 1 process)",
        f"{done.seconds:.1f} s, {done.rows / done.seconds:.0f} rows/s, peak RSS "
        f"{done.peak_rss / MB:.0f} MB | target < 60 s, < 300 MB",
        done.seconds < 60 and done.peak_rss < 300 * MB,
    )
    say(done.output.splitlines()[-1] if done.output else "")
    total = args.small + args.contacts
    with serving(small_env, folder, "imported") as (port, sampler):
        memory.append((f"{total} contacts, right after the import", sampler))
        imported = lookup_rows(table, port, args, total, access_code, rng,
                               what="lookup right after the import")
    compare_lookups(table, f"lookup right after import, {total} vs {args.small}", imported,
                    lookups[args.small])

    # 3. A million calls: lookup, ingest, admin.
    if not reuse:
        say(f"seeding {args.calls} calls ...")
        started = time.perf_counter()
        seed_step(big_env, "calls", args.calls, total)
        say(f"seeded {args.calls} calls in {time.perf_counter() - started:.0f} s")
    seed_step(big_env, "analyze")
    session = seed_step(big_env, "session")
    counts = json.loads(seed_step(big_env, "queries"))
    table.note("statements per event (in-process)",
               ", ".join(f"{kind} {n}" for kind, n in counts.items()) + " | target <= 8",
               max(counts.values()) <= 8)
    with serving(big_env, folder, "big") as (port, sampler):
        memory.append((f"{total} contacts, {args.calls} calls", sampler))
        figures = lookup_rows(table, port, args, total, access_code, rng)
        compare_lookups(table, f"lookup {total} vs {args.small} contacts", figures,
                        lookups[args.small])
        ingest_row(table, port, args, total, access_code, rng)
        admin_rows(table, port, args, total, session)
        dashboard_rows(table, port, big_env, args.calls, session)
    for name, sampler in memory:
        for n, pid in enumerate(sorted(sampler.peak)):
            table.note(
                f"gunicorn worker {n + 1} RSS ({name})",
                f"peak {sampler.peak[pid] / MB:.0f} MB | at start {sampler.first[pid] / MB:.0f} "
                f"MB | target < 150 MB",
                sampler.peak[pid] < 150 * MB,
            )
    say(f"load average {os.getloadavg()[0]:.2f}")
    if table.misses:
        say("missed: " + "; ".join(table.misses))
    return 0


def lookup_rows(table: Table, port: int, args: argparse.Namespace, contacts: int,
                access_code: str, rng: random.Random, what: str = "lookup cmd=contact") -> Figures:
    """The journal-only path, then the lookup, at the same concurrency (one client per worker
    by default); the lookup's figures. The constant view is printed as a note."""
    warm = max(args.concurrency, harness.WORKERS)
    constant = measure(port, constant_probes(args.requests), args.concurrency)
    probes = lookup.lookup_probes(harness.WARMUP + args.requests, contacts, access_code, rng)
    measure(port, journal_only(probes[:harness.WARMUP], access_code), warm)
    base = measure(port, journal_only(probes[harness.WARMUP:], access_code), args.concurrency)
    measure(port, probes[:harness.WARMUP], warm)
    f = measure(port, probes[harness.WARMUP:], args.concurrency)
    p99 = ms(f.latencies, .99)
    share = f.per_second / base.per_second
    # The share target is PostgreSQL's at a million contacts (SQLite: shown, no target).
    postgresql = not harness.is_sqlite(args.database_url or args.keep or "sqlite:")
    big = contacts >= 1_000_000 and postgresql
    ok = not f.errors and p99 < 10 and (share >= 0.8 or not big)
    table.http(f"{what}, {args.concurrency} clients", contacts, f, base,
               "p99 < 10 ms" + ("; >= 80 % of journal-only r/s" if big else ""), ok)
    table.note("  reference: constant view, same clients",
               f"{constant.per_second:.0f} req/s, median {ms(constant.latencies, .5):.2f} ms; "
               f"the lookup at {f.per_second / constant.per_second:.0%} of it", None)
    report_errors(f)
    return f


def compare_lookups(table: Table, what: str, f: Figures, small: Figures) -> None:
    grew = ms(f.latencies, .99) / ms(small.latencies, .99)
    slowed = small.per_second / f.per_second
    table.note(what, f"p99 x{grew:.2f}, req/s x{1 / slowed:.2f} | target within 20 %",
               grew <= 1.2 and slowed <= 1.2)


def ingest_row(table: Table, port: int, args: argparse.Namespace, contacts: int,
               access_code: str, rng: random.Random) -> None:
    probes = event_probes(args.ingest_calls, SENDERS, access_code, contacts, rng)
    base = measure(port, journal_only(probes, access_code), SENDERS)
    f = measure(port, probes, SENDERS)
    share = f.per_second / base.per_second
    table.http(f"ingest 3 events/call, {SENDERS} senders (calls/s)", contacts, f, base,
               ">= 40 % of journal-only r/s, 0 errors", not f.errors and share >= 0.4,
               per_call=3)
    slowest = max(f.latencies)
    table.note("  slowest webhook answer during the ingest",
               f"{slowest * 1000:.0f} ms (journal-only: {max(base.latencies) * 1000:.0f} ms) "
               "| target < 1 s", slowest < 1)
    report_errors(f)


ADMIN_PAGES = [
    ("admin call log, first page", "/admin/calls/call/"),
    ("admin call log, page 50", "/admin/calls/call/?p=50"),
    ("admin call log, missed calls filter", "/admin/calls/call/?outcome__exact=missed"),
    ("admin call log, phone search", "/admin/calls/call/?q=8+920+000-12-34"),
    ("admin contacts, first page", "/admin/contacts/contact/"),
    ("admin contacts, page 50", "/admin/contacts/contact/?p=50"),
    ("admin contacts, phone search", "/admin/contacts/contact/?q=%2B7+920+000-12-34"),
    ("admin contacts, name search", "/admin/contacts/contact/?q=" + quote("Клиент 123457")),
]
PAGE_TARGET_MS = 300  # time to first byte, median
PAGE_TARGETS_MS = {"admin contacts, name search": 150}  # pages with a target of their own


def admin_rows(table: Table, port: int, args: argparse.Namespace, rows: int,
               session: str) -> None:
    for what, path in ADMIN_PAGES:
        base = get_pages(port, get_request(CONSTANT, session), args.pages)
        pages = get_pages(port, get_request(path, session), args.pages)
        target = PAGE_TARGETS_MS.get(what, PAGE_TARGET_MS)
        ok = all(s == 200 for s in pages.statuses) and ms(pages.ttfb, .5) < target
        table.page(what, rows, pages, base, target, ok)


def dashboard_rows(table: Table, port: int, env: dict[str, str], calls: int,
                   session: str) -> None:
    """The rollup of past days as its timer runs it, then the dashboard's first view of a year
    (nothing of it cached) and a later one."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "rollup_calls"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    table.note("rollup_calls (timer), the calls' days", f"{time.perf_counter() - started:.1f} s",
               None)
    request = get_request("/admin/dashboard/?days=365", session)
    first, later = get_pages(port, request, 1), get_pages(port, request, 3)
    ok = first.statuses == [200] and ms(first.total, .5) < 1500
    table.note(f"dashboard, first view of 365 days, {calls} calls",
               f"{ms(first.total, .5):.0f} ms (later views {ms(later.total, .5):.0f} ms) "
               "| target < 1.5 s", ok)


def report_errors(f: Figures) -> None:
    for problem in f.errors[:3]:
        print(f"#   error: {problem}", file=sys.stderr, flush=True)


def main() -> int:
    args = parse_args()

    def say(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    with ExitStack() as stack:
        return run(args, stack, say)


if __name__ == "__main__":
    sys.exit(main())
