"""Structured logs: one JSON object a line (``XINGCUN_LOG_FORMAT=json``, the default), with the
service and the correlation id of the work in hand, for a log collector to index; or plain text
for a terminal (``text``)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from shared.observability.correlation import current_correlation

# uvicorn's loggers keep handlers of their own and do not propagate: they are given ours.
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (correlation := current_correlation()) is not None:
            entry["correlation_id"] = correlation
        fields = getattr(record, "fields", None)  # logger.info(..., extra={"fields": {...}})
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        correlation = current_correlation()
        return f"{line} [{correlation}]" if correlation else line


def configure_logging(service: str, form: str, level: str = "INFO") -> None:
    """Send the process's log records to stderr in ``form`` (``json`` or ``text``)."""
    handler = logging.StreamHandler(sys.stderr)
    if form == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(_TextFormatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in _UVICORN:
        logger = logging.getLogger(name)
        if name == "uvicorn.access" and not logger.handlers and not logger.propagate:
            continue  # turned off (--no-access-log): ours is xingcun.http's
        logger.handlers = []
        logger.propagate = True
