"""Event ingest alone, as `make bench` measures it, in a minute instead of a quarter of an hour.

Seeds a fresh database (agents, contacts imported by `manage.py import_contacts`), serves it
with gunicorn (2 sync workers) and sends, from 8 client processes, the INCOMING, ANSWERED and
COMPLETED of new calls, each round right after the same requests with a wrong access code
(the journal-only path, the floor every kept request pays). Prints each round and the
median share. For trying a change to the webhook or the call assembly; `make bench` gives
the figures of record, at a million calls.

    python benchmarks/ingest.py                       # SQLite in a temporary folder
    python benchmarks/ingest.py --database-url postgres://postgres@127.0.0.1:5432/xvb_ingest
"""
import argparse
import random
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402
import harness  # noqa: E402
from harness import measure, ms  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="as in lookup.py: created and dropped")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=400, help="calls per round (default 400)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.calls % bench.SENDERS:
        parser.error(f"--calls must be a multiple of {bench.SENDERS}")
    access_code = secrets.token_hex(8)
    rng = random.Random(2024)
    with tempfile.TemporaryDirectory(prefix="xvbcrm-ingest-") as name, \
            harness.fresh_database(args.database_url) as url:
        folder = Path(name)
        env = bench.bench_env(url, access_code)
        harness.migrate(env)
        bench.seed_step(env, "agents")
        bench.import_contacts(env, folder, 0, args.contacts)
        print(f"# {bench.seed_step(env, 'analyze')}; {args.calls} calls a round, "
              f"{bench.SENDERS} senders", flush=True)
        shares = []
        with harness.serving(env, folder, "ingest") as (port, _):
            warm = bench.event_probes(bench.SENDERS * 10, bench.SENDERS, access_code,
                                      args.contacts, rng)
            measure(port, warm, bench.SENDERS)
            for number in range(1, args.rounds + 1):
                probes = bench.event_probes(args.calls, bench.SENDERS, access_code,
                                            args.contacts, rng)
                base = measure(port, bench.journal_only(probes, access_code), bench.SENDERS)
                f = measure(port, probes, bench.SENDERS)
                shares.append(f.per_second / base.per_second)
                print(f"round {number}: events {f.per_second:.0f}/s (p99 "
                      f"{ms(f.latencies, .99):.0f} ms, slowest {max(f.latencies) * 1000:.0f} ms, "
                      f"{len(f.errors)} errors) | journal-only {base.per_second:.0f}/s | "
                      f"{shares[-1]:.0%}", flush=True)
                bench.report_errors(f)
        print(f"median share of the journal-only path: {statistics.median(shares):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
