"""Envelope encryption with AES-256-GCM (``cryptography``), pseudonyms with HMAC-SHA256.

- A *keyring* holds the key-encryption keys (KEKs, one active) and the pseudonym pepper.
  It lives outside the database: a file (``keys.json``, mode 0600) or ``RSSBOT_MASTER_KEY``.
- Each returnee has a random 256-bit *data key* (DEK), stored only wrapped by a KEK;
  erasing a returnee destroys their DEK, so copies of their ciphertexts (backups) become
  unreadable.
- Every field ciphertext is bound by its associated data to ``table:row:field``, so a
  ciphertext moved to another row or column fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
_BLOB_VERSION = b"\x01"
_NONCE = 12
_KEY_BYTES = 32


class CryptoError(Exception):
    """Base class: a message safe to show (never contains key material)."""


class MissingKeyError(CryptoError):
    pass


class WrongKeyError(CryptoError):
    pass


class DecryptionError(CryptoError):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise MissingKeyError(f"the keyring's {what} is not valid base64") from exc
    if len(value) != _KEY_BYTES:
        raise MissingKeyError(f"the keyring's {what} must be {_KEY_BYTES} bytes")
    return value


def new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


@dataclass
class Keyring:
    active: str
    keks: dict[str, bytes]
    pepper: bytes
    source: str = field(default="memory", compare=False)

    # -- creation and (de)serialisation ---------------------------------------------------

    @classmethod
    def generate(cls) -> Keyring:
        kek_id = new_kek_id()
        return cls(active=kek_id, keks={kek_id: AESGCM.generate_key(256)}, pepper=os.urandom(32))

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "active": self.active,
                "keks": {k: _b64(v) for k, v in self.keks.items()},
                "pepper": _b64(self.pepper),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, source: str) -> Keyring:
        try:
            data = json.loads(text)
            active, keks, pepper = data["active"], data["keks"], data["pepper"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MissingKeyError(f"{source} is not a keyring written by 'rssbot keys'") from exc
        if data.get("format") != FORMAT or not isinstance(keks, dict) or active not in keks:
            raise MissingKeyError(f"{source} is not a valid keyring (format or active key)")
        return cls(
            active=active,
            keks={k: _unb64(v, f"key {k}") for k, v in keks.items()},
            pepper=_unb64(pepper, "pepper"),
            source=source,
        )

    @classmethod
    def read_file(cls, path: Path) -> Keyring:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise MissingKeyError(
                f"no encryption key: {path} does not exist. Run 'rssbot keys generate' "
                "(or 'rssbot init') once, and back the file up apart from the database."
            ) from exc
        except OSError as exc:
            raise MissingKeyError(f"cannot read the key file {path}: {exc.strerror}") from exc
        return cls.from_json(text, str(path))

    def write_file(self, path: Path, *, overwrite: bool = False) -> None:
        """Write atomically with mode 0600; refuse to replace a keyring unless asked."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not overwrite:
            raise CryptoError(f"{path} already exists: refusing to overwrite a keyring")
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    # -- fingerprints and pseudonyms -----------------------------------------------------

    def fingerprint(self, kek_id: str) -> str:
        """A public check value of one KEK (stored in the database to detect a wrong key)."""
        return hmac.new(self.keks[kek_id], b"rssbot key check v1", hashlib.sha256).hexdigest()[:32]

    def pepper_fingerprint(self) -> str:
        return hmac.new(self.pepper, b"rssbot pepper check v1", hashlib.sha256).hexdigest()[:32]

    def pseudonym(self, kind: str, value: str | int) -> str:
        """HMAC-SHA256 of an identifier (e.g. a Telegram user id) under the secret pepper."""
        message = f"{kind}:{value}".encode()
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()

    # -- data keys ------------------------------------------------------------------------

    def wrap(self, dek: bytes, owner: str) -> tuple[str, bytes]:
        """Encrypt a data key under the active KEK, bound to its owner and KEK id."""
        nonce = os.urandom(_NONCE)
        aad = f"rssbot:dek:{owner}:{self.active}".encode()
        return self.active, nonce + AESGCM(self.keks[self.active]).encrypt(nonce, dek, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, owner: str) -> bytes:
        kek = self.keks.get(kek_id)
        if kek is None:
            raise WrongKeyError(
                f"the data key of {owner} is wrapped by key '{kek_id}', which this keyring "
                "does not hold"
            )
        aad = f"rssbot:dek:{owner}:{kek_id}".encode()
        try:
            return AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        except InvalidTag as exc:
            raise WrongKeyError(f"key '{kek_id}' does not open the data key of {owner}") from exc


def new_data_key() -> bytes:
    return AESGCM.generate_key(256)


def field_aad(table: str, row_id: str, column: str) -> bytes:
    return f"rssbot:{table}:{row_id}:{column}".encode()


def encrypt_field(dek: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _BLOB_VERSION + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)


def decrypt_field(dek: bytes, blob: bytes, aad: bytes) -> bytes:
    if not blob or blob[:1] != _BLOB_VERSION:
        raise DecryptionError("unknown ciphertext format")
    try:
        return AESGCM(dek).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except InvalidTag as exc:
        raise DecryptionError(
            "a ciphertext failed authentication (tampered, moved, or wrong key)"
        ) from exc
