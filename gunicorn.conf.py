"""gunicorn settings for xvbcrm: `gunicorn -c gunicorn.conf.py xvbcrm.wsgi`, read from the env.

Every value can be changed by an environment variable (or on gunicorn's command line).
"""
import os

from xvbcrm.log import logging_config


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Where to listen: behind nginx on another machine `0.0.0.0:8000`, on the same one
# `127.0.0.1:8000`. Only the proxy may reach it: X-Forwarded-For is trusted from it.
bind = os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"
# Sync workers, each one request at a time; the PBX's requests are short. Twice the CPUs plus
# one suits a machine of its own; nothing is kept in a worker's memory between requests.
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
# A request running longer is killed (and its worker restarted): the webhook answers in
# milliseconds, the slowest admin page in well under a second.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than nginx's upstream keepalive_timeout is not needed; the PBX closes each connection.
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (with jitter, not all at once) against slow leaks.
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# The workers' heartbeat files in memory, not on a disk that can stall (Docker's overlay).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn >= 24's control socket defaults to one path per user ($HOME/.gunicorn): several
# servers on one machine would share it. Nothing here uses it.
control_socket_disable = True

# Access log and gunicorn's own messages to stdout, as JSON lines (LOG_FORMAT=json, the
# default here) or as text: the same formats as the app's logs (xvbcrm.log).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(L)ss "%(a)s"'
_format = os.environ.get("LOG_FORMAT") or "json"
logconfig_dict = logging_config(
    _format, level="INFO", own={"gunicorn.error": "INFO", "gunicorn.access": "INFO"}
)
# The app's own logs follow LOG_FORMAT too.
os.environ.setdefault("LOG_FORMAT", _format)
