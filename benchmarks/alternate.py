"""The PostgreSQL or SQLite caller lookup of two checkouts, measured alternately over HTTP.

A before/after comparison of `make bench`'s runs is at the mercy of the disk's fsync: runs of
one commit scatter by up to twice. This script seeds one database per checkout the same way
(agents, contacts imported from the same CSV, calls, ANALYZE), then serves each checkout in
turn with gunicorn (2 sync workers) and sends it the same kind of lookups, rounds alternating
the order, so both commits meet the same machine. It prints each run and the medians.

    git worktree add --detach ../before COMMIT && make -C ../before install
    .venv/bin/python benchmarks/alternate.py ../before . --rounds 5
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import lookup  # noqa: E402
from harness import free_port, measure  # noqa: E402

CODE = "alternate-access-code"


class Checkout:
    def __init__(self, name: str, folder: str, database_url: str) -> None:
        self.name, self.folder, self.database_url = name, str(Path(folder).resolve()), database_url
        self.python = str(Path(self.folder) / ".venv" / "bin" / "python")

    def env(self) -> dict[str, str]:
        env = harness.server_env(self.database_url, CODE)
        env["PYTHONPATH"] = str(Path(self.folder) / "benchmarks")
        return env

    def run(self, *command: object, **kwargs: object) -> None:
        subprocess.run([self.python, *map(str, command)], cwd=self.folder, env=self.env(),
                       check=True, **kwargs)

    def seed(self, contacts: int, calls: int, csv_path: str) -> None:
        self.run("manage.py", "migrate", "--no-input", "-v0")
        self.run("benchmarks/bench_seed.py", "agents")
        self.run("manage.py", "import_contacts", csv_path, stdout=subprocess.DEVNULL)
        self.run("benchmarks/bench_seed.py", "calls", calls, contacts)
        self.run("benchmarks/bench_seed.py", "analyze", stdout=subprocess.DEVNULL)

    def measure(self, contacts: int, requests: int, concurrency: int,
                rng: random.Random, log: Path) -> harness.Figures:
        port = free_port()
        with harness.gunicorn(self.env(), port, log, root=Path(self.folder), python=self.python):
            measure(port, lookup.lookup_probes(harness.WARMUP, contacts, CODE, rng), concurrency)
            return measure(port, lookup.lookup_probes(requests, contacts, CODE, rng),
                           concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="the first checkout (with its .venv)")
    parser.add_argument("after", help="the second checkout")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/xvb_alt",
                        help="a PostgreSQL URL (NAME_before and NAME_after are created and "
                             "dropped) or sqlite:///PATH (PATH-before, PATH-after)")
    parser.add_argument("--contacts", type=int, default=110_000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with harness.fresh_database(args.database_url + "_before") as first, \
            harness.fresh_database(args.database_url + "_after") as second:
        checkouts = [Checkout("before", args.before, first), Checkout("after", args.after, second)]
        folder = Path(harness.sqlite_path(first).parent if harness.is_sqlite(first) else "/tmp")
        csv_path = str(folder / f"alternate-{os.getpid()}.csv")
        subprocess.run([sys.executable, str(Path(__file__).parent / "bench_seed.py"), "csv",
                        csv_path, "0", str(args.contacts)], check=True)
        for checkout in checkouts:
            checkout.seed(args.contacts, args.calls, csv_path)
        os.unlink(csv_path)
        rng, rates = random.Random(2024), {c.name: [] for c in checkouts}
        for n in range(args.rounds):
            for checkout in checkouts if n % 2 == 0 else checkouts[::-1]:
                f = checkout.measure(args.contacts, args.requests, args.concurrency, rng,
                                     folder / f"alternate-{checkout.name}.log")
                rates[checkout.name].append(f.per_second)
                median, p99 = harness.ms(f.latencies, .5), harness.ms(f.latencies, .99)
                print(f"round {n + 1} {checkout.name}: {f.per_second:.0f} req/s, median "
                      f"{median:.2f} ms, p99 {p99:.2f} ms, {len(f.errors)} errors, "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
    for name, values in rates.items():
        print(f"{name}: median {statistics.median(values):.0f} req/s "
              f"({min(values):.0f}-{max(values):.0f})")
    change = statistics.median(rates["after"]) / statistics.median(rates["before"]) - 1
    print(f"after vs before: {change:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
