"""Keep secrets and respondents' words out of logs.

:class:`RedactingFilter` is installed on the log handlers by ``configure_logging``. It
replaces bot tokens (by shape) and any value registered with :func:`sensitive` while it is
being processed (the text of a message, a free-text answer...) with ``[redacted]``.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_SENSITIVE: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "rssbot_sensitive", default=()
)
REDACTED = "[redacted]"


@contextmanager
def sensitive(*values: str | None) -> Iterator[None]:
    """While inside, these values never appear in a log line (min. 4 characters)."""
    keep = tuple(v for v in values if v and len(v) >= 4)
    token = _SENSITIVE.set(_SENSITIVE.get() + keep)
    try:
        yield
    finally:
        _SENSITIVE.reset(token)


def redact(text: str) -> str:
    text = _TOKEN.sub(REDACTED, text)
    for value in _SENSITIVE.get():
        text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


def configure_logging(level: int | str = logging.INFO) -> None:
    """Root logging to stderr with the redacting filter on every handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
