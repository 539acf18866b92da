"""Structured logs: one JSON object per line, each with the request id of the request
it belongs to (a context variable set by the API's request middleware).

What is logged is chosen, never dumped: no request bodies, no headers, no query
strings, so API keys, secrets and guest contact details never reach a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("seatwise_request_id", default=None)

# Attributes every LogRecord has; anything else was passed by the caller in `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every process that logs through this formatter (the CLI, each uvicorn worker
        # configured by `uvicorn_log_config`) gathers only what its lines show.
        lean_records()
        self._second: tuple[int, str] = (-1, "")  # a second and its text, swapped whole

    def _ts(self, created: float) -> str:
        """ISO 8601 in UTC to the millisecond; the part up to the second is made once
        per second (an access line per request made a datetime per line)."""
        second, stamp = self._second
        if int(created) != second:
            second = int(created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)
        return f"{stamp}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._ts(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line)


# One encoder for every line (`json.dumps` with `default=` builds one per call).
_encode = json.JSONEncoder(default=str).encode


def lean_records() -> None:
    """Skip what no line shows: the caller's file and line (a stack walk per record),
    thread and process names."""
    logging._srcfile = None  # the documented switch (logging HOWTO, "Optimization")
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure(level: str = "INFO") -> None:
    """Send every log line (ours, uvicorn's, procrastinate's) to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration (applied in every worker process), routed
    through the JSON formatter; `level` is the root level (SEATWISE_LOG_LEVEL)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "seatwise.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"level": "WARNING"},
            "uvicorn.error": {"level": "WARNING"},
            "uvicorn.access": {"level": "WARNING", "propagate": False},
        },
    }
