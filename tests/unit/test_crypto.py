"""Envelope encryption, associated data, keyring files and pseudonyms."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from storage.crypto import (
    CryptoError,
    DecryptionError,
    Keyring,
    MissingKeyError,
    WrongKeyError,
    decrypt_field,
    encrypt_field,
    field_aad,
    new_data_key,
)


def test_round_trip_and_fresh_nonces() -> None:
    dek = new_data_key()
    aad = field_aad("answers", "row-1", "value")
    a = encrypt_field(dek, "Très bien, شكرا".encode(), aad)
    b = encrypt_field(dek, "Très bien, شكرا".encode(), aad)
    assert a != b  # random nonce
    assert decrypt_field(dek, a, aad).decode() == "Très bien, شكرا"


def test_tampered_ciphertext_fails() -> None:
    dek = new_data_key()
    aad = field_aad("answers", "row-1", "value")
    blob = bytearray(encrypt_field(dek, b"secret", aad))
    blob[-1] ^= 0x01
    with pytest.raises(DecryptionError):
        decrypt_field(dek, bytes(blob), aad)
    with pytest.raises(DecryptionError):
        decrypt_field(dek, b"\x02" + bytes(blob[1:]), aad)  # unknown format


def test_ciphertext_moved_to_another_row_or_field_fails() -> None:
    dek = new_data_key()
    blob = encrypt_field(dek, b"secret", field_aad("answers", "row-1", "value"))
    with pytest.raises(DecryptionError):
        decrypt_field(dek, blob, field_aad("answers", "row-2", "value"))
    with pytest.raises(DecryptionError):
        decrypt_field(dek, blob, field_aad("feedback", "row-1", "text"))


def test_wrong_data_key_fails() -> None:
    aad = field_aad("answers", "row-1", "value")
    blob = encrypt_field(new_data_key(), b"secret", aad)
    with pytest.raises(DecryptionError):
        decrypt_field(new_data_key(), blob, aad)


def test_wrapping_binds_owner_and_key() -> None:
    ring = Keyring.generate()
    dek = new_data_key()
    kek_id, wrapped = ring.wrap(dek, "returnee:a")
    assert ring.unwrap(kek_id, wrapped, "returnee:a") == dek
    with pytest.raises(WrongKeyError):
        ring.unwrap(kek_id, wrapped, "returnee:b")  # moved to another owner
    other = Keyring.generate()
    other.keks[kek_id] = other.keks.pop(other.active)  # same id, different key
    with pytest.raises(WrongKeyError):
        other.unwrap(kek_id, wrapped, "returnee:a")
    with pytest.raises(WrongKeyError, match="does not hold"):
        Keyring.generate().unwrap(kek_id, wrapped, "returnee:a")


def test_keyring_file(tmp_path: Path) -> None:
    ring = Keyring.generate()
    path = tmp_path / "keys" / "keys.json"
    ring.write_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Keyring.read_file(path) == ring
    with pytest.raises(CryptoError, match="refusing to overwrite"):
        Keyring.generate().write_file(path)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"format": 1, "active": "k", "keks": {}, "pepper": ""}),
        json.dumps({"format": 1, "active": "k", "keks": {"k": "c2hvcnQ="}, "pepper": "c2hvcnQ="}),
        json.dumps({"format": 9, "active": "k", "keks": {"k": "x"}, "pepper": "x"}),
    ],
)
def test_malformed_keyrings_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(MissingKeyError):
        Keyring.read_file(path)


def test_missing_key_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match="rssbot keys generate"):
        Keyring.read_file(tmp_path / "nope.json")


def test_pseudonyms_depend_on_the_pepper_only() -> None:
    ring = Keyring.generate()
    assert ring.pseudonym("telegram", 12345) == ring.pseudonym("telegram", "12345")
    assert ring.pseudonym("telegram", 12345) != ring.pseudonym("console", 12345)
    assert ring.pseudonym("telegram", 12345) != Keyring.generate().pseudonym("telegram", 12345)
    assert "12345" not in ring.pseudonym("telegram", 12345)


def test_key_material_never_in_repr_of_errors() -> None:
    ring = Keyring.generate()
    try:
        Keyring.generate().unwrap(ring.active, b"x" * 40, "returnee:a")
    except WrongKeyError as exc:
        assert ring.to_json() not in str(exc)
