"""The project's settings plus one trivial view, the baseline that `make bench` measures beside
every path on the same gunicorn (run with benchmarks/ on PYTHONPATH)."""
from xvbcrm.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
