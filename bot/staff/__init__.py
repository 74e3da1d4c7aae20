"""The staff side's use cases and rules: roles and what each may do (used by the bot, the
command line and the web console), and signing in with the organisation's identity
provider (:mod:`bot.staff.oidc`)."""

from __future__ import annotations

ROLES = ("admin", "caseworker", "feedback_officer", "viewer")

PERMISSIONS: dict[str, frozenset[str]] = {
    "due": frozenset({"admin", "caseworker", "viewer"}),
    "round": frozenset({"admin", "caseworker"}),
    "stats": frozenset({"admin", "caseworker", "viewer"}),
    "case": frozenset({"admin", "caseworker"}),
    "export": frozenset({"admin", "caseworker", "viewer"}),
    #: case references appear in exports only for these roles
    "case_ref": frozenset({"admin", "caseworker"}),
    "feedback": frozenset({"feedback_officer"}),
    #: a new invitation link for an enrolled returnee
    "invite": frozenset({"admin", "caseworker"}),
    #: staff members and the audit log (web console)
    "admin": frozenset({"admin"}),
}


def allowed(role: str | None, action: str) -> bool:
    return role is not None and role in PERMISSIONS[action]


def invitation_link(username: str | None, token: str) -> str:
    """The Telegram link that opens the bot with a single-use invitation."""
    return f"https://t.me/{username or '<bot username>'}?start={token}"


def whatsapp_invitation_link(number: str, token: str) -> str:
    """The WhatsApp link that opens a chat with the business number, with ``START <token>``
    ready to send."""
    digits = "".join(c for c in number if c.isdigit())
    return f"https://wa.me/{digits}?text=START%20{token}"
