"""Measure click-to-call end to end: the click, the PBX's makeCall, the call in the log.

Builds a fresh database with benchmarks/harness.py, seeds contacts as lookup.py does, one
user linked to agent 101 with an API token, runs the PBX emulator (calls/pbx/emulator.py) in this
process with no pause between events, and serves the CRM with gunicorn (2 sync workers) set
up for that emulator. Then, one click at a time, it POSTs /api/click-to-call/ (what the
admin's "Call" button does, minus the redirect) and waits until the call is in the log,
answered, with its recording link. It prints two figures: click → CRM answered (the PBX was
asked and said yes), and click → answered call with recording in the log (the emulator's
OUTGOING, ANSWERED and COMPLETED went through the webhook). A measurement, not a test.

    python benchmarks/click_to_call.py
    python benchmarks/click_to_call.py --database-url postgres://postgres@127.0.0.1:5432/xvb_c2c
"""
import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import harness  # benchmarks/harness.py, beside this script
import lookup

CONTACTS = 10_000
TIMEOUT = 10.0  # seconds a click may take to become a finished call


def api_request(token: str, to: str) -> bytes:
    body = json.dumps({"to": to}).encode()
    return (
        "POST /api/click-to-call/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


def seed_caller() -> str:
    """A superuser linked to agent 101 (seeded by lookup.seed); returns its API token."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from contacts.models import Agent

    user = User.objects.create_superuser("bench", password=secrets.token_urlsafe(12))
    Agent.objects.filter(extension="101").update(user=user, is_active=True)
    return Token.objects.create(user=user).key


def finished(callid: str) -> bool:
    from calls.models import Call

    return Call.objects.filter(callid=callid, outcome="answered").exclude(record_link="").exists()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(args: argparse.Namespace, stack: ExitStack) -> None:
    from calls.pbx.emulator import EmulatorConfig, PbxEmulator

    database_url = stack.enter_context(harness.fresh_database(args.database_url))
    access_code, pbx_token = secrets.token_hex(8), secrets.token_urlsafe(16)
    port = harness.free_port()
    emulator = PbxEmulator(
        EmulatorConfig(crm_url=f"http://127.0.0.1:{port}/crm-api", access_code=access_code,
                       token=pbx_token, pace=0.0),
        host="127.0.0.1", port=0, log=lambda line: None,
    )
    emulator.start()
    stack.callback(emulator.shutdown)
    env = {**harness.server_env(database_url, access_code),
           "PBX_URL": emulator.url, "PBX_TOKEN": pbx_token}
    harness.migrate(env)
    database = lookup.seed(env, CONTACTS)
    token = seed_caller()
    log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xvbcrm-bench-"))) / "log"
    stack.enter_context(harness.gunicorn(env, port, log))

    answered, in_log, errors = [], [], []
    for index in range(args.clicks + args.warmup):
        to = f"+7920{index % CONTACTS:07d}"
        started = time.perf_counter()
        status, body, seconds = harness.send(port, api_request(token, to))
        if status != 200:
            errors.append(f"{status} {body[:200]!r}")
            continue
        callid = json.loads(body)["pbx_callid"]
        while not finished(callid):
            if time.perf_counter() - started > TIMEOUT:
                errors.append(f"{callid}: not in the log after {TIMEOUT:g} s")
                break
            time.sleep(0.002)
        else:
            if index >= args.warmup:
                answered.append(seconds * 1000)
                in_log.append((time.perf_counter() - started) * 1000)
    print(f"# {database}, gunicorn {harness.WORKERS} sync workers, {os.cpu_count()} CPUs, "
          f"{len(answered)} clicks, one at a time, emulator pace 0", file=sys.stderr)
    print(f"{'from the click to':<44}{'median ms':>10}{'p90 ms':>9}{'p99 ms':>9}")
    for label, values in (("the CRM's answer (PBX asked, said yes)", answered),
                          ("the answered call with recording in the log", in_log)):
        if values:
            print(f"{label:<44}{statistics.median(values):>10.2f}"
                  f"{percentile(values, 0.9):>9.2f}{percentile(values, 0.99):>9.2f}")
    for error in errors[:5]:
        print(f"# error: {error}", file=sys.stderr)
    if errors:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL URL to create, use and drop (default: SQLite)")
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(harness.ROOT))
    with ExitStack() as stack:
        run(args, stack)


if __name__ == "__main__":
    main()
