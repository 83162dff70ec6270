"""Logs as JSON lines (LOG_FORMAT=json), for collectors reading the app servers' stdout."""
import json
import logging
from datetime import UTC, datetime
from typing import Any

# gunicorn's access log passes its request atoms as the record's args: the ones kept, renamed.
ACCESS_FIELDS = {
    "h": "remote_addr", "m": "method", "U": "path", "q": "query", "s": "status",
    "B": "bytes", "L": "duration_s", "a": "user_agent", "f": "referer",
}
NUMERIC = {"s", "B", "L"}


def logging_config(log_format: str, *, level: str, own: dict[str, str]) -> dict[str, Any]:
    """The dictConfig of the app's and gunicorn's logs: every record to stdout, as `text` for
    people or `json` lines for collectors; the `own` loggers (name: level) write there alone,
    not again through the root."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"()": "xvbcrm.log.JsonFormatter"},
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": log_format,
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            name: {"handlers": ["stdout"], "level": own_level, "propagate": False}
            for name, own_level in own.items()
        },
    }


def _number(value: object) -> object:
    """gunicorn's numeric atoms (status, bytes, seconds) as JSON numbers."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            entry["message"] = "request"
            entry.update(
                {name: _number(record.args.get(atom)) if atom in NUMERIC else record.args.get(atom)
                 for atom, name in ACCESS_FIELDS.items()}
            )
            forwarded = record.args.get("{x-forwarded-for}i")
            if forwarded and forwarded != "-":
                entry["forwarded_for"] = forwarded
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
