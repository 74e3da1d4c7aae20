"""Audio prompts: the clips a question, a note or a choice may carry in each language,
and what the chat channels accept of them.

A clip is sent as a voice note, so it must be a format both channels play as one:
Telegram's ``sendVoice`` takes OGG (Opus), MP3 and M4A, up to 50 MB; WhatsApp's Cloud
API takes those among its audio types, up to 16 MB. A clip is inspected (with mutagen,
which reads the container and codec, not the file name) when a flow is loaded, so a
clip a channel would refuse stops the flow with the file named, rather than a returnee
waiting for a voice note that never comes.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from stat import S_ISREG

import mutagen
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

MB = 1024 * 1024


@dataclass(frozen=True)
class ChannelAudio:
    """What one channel accepts as a voice note."""

    name: str
    mime_types: frozenset[str]
    max_bytes: int


#: every channel the bot speaks on; a clip must suit all of them
CHANNELS = (
    ChannelAudio("Telegram", frozenset({"audio/ogg", "audio/mpeg", "audio/mp4"}), 50 * MB),
    ChannelAudio(
        "WhatsApp",
        frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"}),
        16 * MB,
    ),
)
#: what to record to, for the error messages
ACCEPTED = "OGG (Opus), MP3 or M4A (AAC)"
#: a voice note longer than this is not a prompt (and slow to fetch on a poor connection)
MAX_SECONDS = 300


#: what mutagen's readers are called where a person reads them
_NAMES = {"WAVE": "WAV", "OggVorbis": "OGG (Vorbis)", "OggFLAC": "OGG (FLAC)", "AAC": "raw AAC"}


class ClipError(ValueError):
    """A clip no channel, or not every channel, can send as a voice note."""


@dataclass(frozen=True)
class Clip:
    """An audio prompt as it is sent: its file, MIME type, size, length, and a digest of
    its bytes (uploaded media are remembered by it, so a changed file is uploaded again)."""

    path: Path
    mime_type: str
    size: int
    seconds: int
    digest: str

    @property
    def filename(self) -> str:
        return self.path.name


def _kind(found: object) -> tuple[str, str] | None:
    """The MIME type and a reader's name of what mutagen found; None for other audio."""
    if isinstance(found, OggOpus):
        return "audio/ogg", "OGG (Opus)"
    if isinstance(found, MP3):
        return "audio/mpeg", "MP3"
    if isinstance(found, MP4):
        codec = str(getattr(found.info, "codec", ""))
        return ("audio/mp4", "M4A (AAC)") if codec.startswith("mp4a") else None
    return None


@cache
def _inspected(path: str, mtime_ns: int, size: int) -> Clip:
    file = Path(path)
    try:
        found = mutagen.File(file)
    except (mutagen.MutagenError, OSError) as exc:
        raise ClipError(f"{file.name}: cannot be read as audio ({exc})") from exc
    kind = _kind(found)
    if kind is None:
        what = (
            f"{_NAMES.get(type(found).__name__, type(found).__name__)} audio"
            if found is not None
            else "not audio in a known format"
        )
        raise ClipError(
            f"{file.name}: {what}, not a format Telegram and WhatsApp both send as a voice "
            f"note: record it as {ACCEPTED}"
        )
    mime, name = kind
    seconds = float(getattr(found.info, "length", 0) or 0)
    if seconds > MAX_SECONDS:
        raise ClipError(
            f"{file.name}: {seconds:.0f} seconds long; a prompt is at most {MAX_SECONDS} seconds"
        )
    for channel in CHANNELS:
        if mime not in channel.mime_types:
            raise ClipError(f"{file.name}: {channel.name} does not take {name}: use {ACCEPTED}")
        if size > channel.max_bytes:
            raise ClipError(
                f"{file.name}: {size / MB:.1f} MB, over {channel.name}'s "
                f"{channel.max_bytes // MB} MB for audio"
            )
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return Clip(file, mime, size, max(1, round(seconds)), digest)


def inspect(path: str | Path) -> Clip:
    """The clip at ``path``, checked against every channel (:class:`ClipError` says what
    is wrong, naming the file); inspected again when the file changes."""
    file = Path(path)
    try:
        stat = os.stat(file)
    except OSError as exc:
        raise ClipError(f"{file}: no such file ({exc.strerror or exc})") from exc
    if not S_ISREG(stat.st_mode):
        raise ClipError(f"{file}: not a file")
    named = str(file) if file.is_absolute() else str(file.resolve())
    return _inspected(named, stat.st_mtime_ns, stat.st_size)


def recording(data: bytes) -> tuple[str, int] | None:
    """What a recording given as bytes (a voice note a returnee sent) is, read from its
    content, not from what the sender claims: its MIME type and length in whole
    seconds; None for anything that is not audio a phone records (OGG Opus, MP3, M4A,
    AAC)."""
    try:
        found = mutagen.File(io.BytesIO(data))
    except (mutagen.MutagenError, OSError, ValueError):
        return None
    kind = _kind(found)
    if kind is None and type(found).__name__ == "AAC":
        kind = ("audio/aac", "AAC")
    if kind is None:
        return None
    return kind[0], round(float(getattr(found.info, "length", 0) or 0))


def resolve(name: str, roots: list[Path]) -> Path:
    """Where a clip named in a flow is: as written if absolute, else in the first of
    ``roots`` that has it (the flow's folder, then ODK's ``<form>-media`` folder), else
    where the first root would have it (for the error message)."""
    given = Path(name)
    if given.is_absolute():
        return given
    for root in roots:
        if (root / given).exists():
            return (root / given).resolve()
    return (roots[0] / given) if roots else given
