"""Where staff open the console, and the sign-in links built on it. Light on purpose: the
command line imports it to print a link without loading the console or a chat library."""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8090"


def console_url() -> str:
    """Where staff open the console (``RSSBOT_CONSOLE_URL``; links are built on it)."""
    return (os.environ.get("RSSBOT_CONSOLE_URL") or DEFAULT_URL).rstrip("/")


def sign_in_link(token: str) -> str:
    return f"{console_url()}/login?t={token}"
