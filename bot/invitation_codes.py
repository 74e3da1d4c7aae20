"""Invitation links as QR codes (PNG), to print or to show on a caseworker's phone: the
returnee scans it with their camera and lands in the bot with their single-use token."""

from __future__ import annotations

import io

import segno


def qr_png(link: str, *, scale: int = 8) -> bytes:
    """A QR code of ``link`` as PNG (error correction M: still read when a printed copy is
    creased or partly dirty)."""
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
