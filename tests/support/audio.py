"""Audio clips for the tests, written byte by byte (no encoder on the machine): each is
a valid container that mutagen, Telegram and WhatsApp read by its header: an Ogg Opus
stream, MPEG audio frames, and a WAV file (which no channel takes as a voice note)."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

from mutagen.ogg import OggPage

#: Opus's granule positions count 48 kHz samples
OPUS_RATE = 48_000


def opus_clip(path: Path, seconds: int = 2, *, marker: bytes = b"") -> Path:
    """An Ogg Opus file ``seconds`` long (its last page's granule position says so);
    ``marker`` makes two clips' bytes differ."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, OPUS_RATE, 0, 0)
    vendor = b"rssbot-tests"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = []
    for sequence, (packet, position) in enumerate(
        ((head, 0), (tags, 0), (b"\xf8\xff\xfe" + marker, seconds * OPUS_RATE + 312))
    ):
        page = OggPage()
        page.serial, page.sequence, page.position = 0x5EED, sequence, position
        page.first, page.last = sequence == 0, sequence == 2
        page.packets = [packet]
        pages.append(page.write())
    path.write_bytes(b"".join(pages))
    return path


def mp3_clip(path: Path, frames: int = 80) -> Path:
    """MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz (about 2 s for 80 frames)."""
    header = bytes([0xFF, 0xFB, 0x90, 0x64])
    frame = header + bytes(417 - len(header))
    path.write_bytes(frame * frames)
    return path


def wav_clip(path: Path, seconds: int = 1) -> Path:
    """A silent PCM WAV file: audio, but not a format either channel sends as a voice note."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(2 * 8000 * seconds))
    return path
