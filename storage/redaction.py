"""Keep secrets and respondents' words out of logs.

:class:`RedactingFilter` is installed on the log handlers by ``configure_logging``. It
replaces bot tokens (by shape), the configured secrets it is given (tokens, app secrets,
passwords in service URLs, key material), and any value registered with :func:`sensitive`
while it is being processed (the text of a message, a free-text answer...) with
``[redacted]``.
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


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    text = _TOKEN.sub(REDACTED, text)
    for value in (*secrets, *_SENSITIVE.get()):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Redacts every record, with ``secrets`` (values of 4 characters or more) besides
    what :func:`redact` always removes."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


def configure_logging(level: int | str = logging.INFO, secrets: tuple[str, ...] = ()) -> None:
    """Root logging to stderr with the redacting filter (and ``secrets``, the configured
    secret values) on every handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(secrets))
