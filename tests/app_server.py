"""gunicorn in a process of its own, with the project's gunicorn.conf.py and a given environment."""
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without pytest's marker nor any of the CRM's settings."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTEST_VERSION", "DATABASE_URL")
             and not k.startswith(("DJANGO_", "PBX_", "LOG_"))}
    return {**clean, **env}


@contextmanager
def gunicorn(*, cwd: Path, env: dict[str, str], log: Path, workers: int = 1) -> Iterator[str]:
    """gunicorn with `workers` workers serving `cwd`'s xvbcrm.wsgi on a free port; its base URL.

    Up once it answers any HTTP request (`/healthz` is 503 without a database)."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "xvbcrm.wsgi"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # only a limit on starting, never an assertion
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still booting
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
