"""Gettext catalogues for UI strings: ``<lang>/LC_MESSAGES/messages.po`` (Babel)."""
