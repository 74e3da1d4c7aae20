"""Short public codes: pseudonymous returnee ids (``R-...``) and feedback receipts
(``FB-...``), easy to read aloud and to type."""

from __future__ import annotations

import secrets

_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def short_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
