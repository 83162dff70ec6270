"""The caller lookup's own cost per request, in-process: no network, no client, no gunicorn.

Drives Django's WSGI handler (the project's settings and middleware, debug off) directly
with the PBX's request and, in the same run, with the constant JSON view that `make bench`
uses as its baseline, and prints microseconds per request of each. Profiling aid: what
the lookup costs beyond the floor every request pays, on an existing database.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/xvb_inproc   # or sqlite:///...
    python manage.py migrate
    DJANGO_SETTINGS_MODULE=xvbcrm.settings python benchmarks/bench_seed.py agents
    DJANGO_SETTINGS_MODULE=xvbcrm.settings python benchmarks/bench_seed.py csv /tmp/c.csv 0 10000
    python manage.py import_contacts /tmp/c.csv
    python benchmarks/inprocess.py --contacts 10000
    python benchmarks/inprocess.py --contacts 10000 --events --profile   # call events, profiled

DJANGO_SETTINGS_MODULE, when set (with PYTHONPATH), serves a variation of the settings: it
must keep bench_settings' constant view (`from bench_settings import *`).
"""
import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

ACCESS_CODE = "bench-inprocess"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000,
                        help="contacts 0..N-1 seeded by bench_seed.py (default 10 000)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--profile", action="store_true",
                        help="then profile the lookups (cProfile) and print where time goes")
    parser.add_argument("--events", action="store_true",
                        help="measure (and profile) call events instead of the lookup: "
                             "INCOMING, ANSWERED, COMPLETED of new calls, one after another")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")
    os.environ.update(
        DJANGO_DEBUG="false", LOG_LEVEL="WARNING",
        DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_SECURE_SSL_REDIRECT="false",
        PBX_ACCESS_CODE=ACCESS_CODE,
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-inprocess-" + "x" * 40)
    import django

    django.setup()
    from bench_seed import forget_calls
    from django.db import connection
    from lookup import UNKNOWN_PREFIX, contact_digits

    from xvbcrm.wsgi import application

    rng = random.Random(2024)

    def environ(method: str, path: str, body: bytes = b"") -> dict:
        return {
            "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded" if body else "",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }

    def constant() -> dict:
        return environ("GET", "/bench/constant/")

    def lookup() -> dict:
        if rng.random() < 0.9:
            digits = rng.choice(contact_digits(rng.randrange(args.contacts)))
        else:
            digits = f"{UNKNOWN_PREFIX}{rng.randrange(10**7):07d}"
        body = f"access_code={ACCESS_CODE}&cmd=contact&phone={digits}".encode()
        return environ("POST", "/crm-api", body)

    run = f"inprocess-{os.getpid()}-{time.time_ns()}"
    sent = iter(range(10**9))

    def event() -> dict:
        n = next(sent)
        call, kind = divmod(n, 3)
        digits = rng.choice(contact_digits(call % args.contacts))
        common = f"access_code={ACCESS_CODE}&cmd=event&callid={run}-{call}&phone={digits}"
        body = (
            f"{common}&type=in&event=INCOMING&ext=",
            f"{common}&type=in&event=ANSWERED&ext=101",
            f"{common}&event=COMPLETED&status=Success&duration=16&ext=101"
            f"&record_link=https%3A%2F%2Fpbx.example%2F{call}.mp3",
        )[kind]
        return environ("POST", "/crm-api", body.encode())

    def serve(make: callable) -> float:
        statuses = []
        started = time.perf_counter()
        for _ in range(args.requests):
            response = application(make(), lambda status, headers: statuses.append(status))
            b"".join(response)
            response.close()
        seconds = (time.perf_counter() - started) / args.requests
        if set(statuses) != {"200 OK"}:
            raise SystemExit(f"unexpected answers: {sorted(set(statuses))}")
        return seconds

    measured, what = (event, "call event") if args.events else (lookup, "caller lookup")
    for make in (constant, measured):  # warm up: imports, connection, prepared statements
        args.requests, wanted = 300, args.requests
        serve(make)
        args.requests = wanted
    base, cost = serve(constant), serve(measured)
    print(f"# {connection.vendor}, {args.contacts} contacts, {args.requests} requests each, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"constant view  {base * 1e6:8.0f} us/request")
    print(f"{what:13}  {cost * 1e6:8.0f} us/request  ({cost / base:.1f} x the constant view)")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(serve, measured)
        only = os.environ.get("PROFILE_FILTER", "")  # e.g. "xvbcrm|calls|contacts"
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(only, 60)
    if args.events:
        forget_calls(f"{run}-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
