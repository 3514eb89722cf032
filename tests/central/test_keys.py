"""Meter keys are kept sealed with AES-GCM under the store master key, never in plaintext (SYSTEM C4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterkast.central.keys_at_rest import KeySealer, SealedKey, key_context
from meterkast.central.model import KeyKind
from meterkast.central.store import Store
from meterkast.central.store_sql import SqlStore, open_store
from meterkast.central.store_sql_db import Database
from meterkast.errors import AuthenticationError, InvalidInput, MeterkastError
from tests.central.helpers import E_ID, G_ID, MASTER_KEY, T0, counter_nonces

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY2 = bytes.fromhex("f0e0d0c0b0a090807060504030201000")


def test_put_and_get_with_versions(store: Store) -> None:
    assert store.put_key(E_ID, KeyKind.P3_ENCRYPTION, KEY, T0) == 1
    assert store.put_key(E_ID, KeyKind.P3_ENCRYPTION, KEY2, T0) == 2
    assert store.put_key(G_ID, KeyKind.P2_USER, KEY, T0) == 1
    assert store.get_key(E_ID, KeyKind.P3_ENCRYPTION) == KEY2
    assert store.get_key(E_ID, KeyKind.P3_ENCRYPTION, version=1) == KEY
    with pytest.raises(InvalidInput, match=f"no p3-gak key of any version is stored for {E_ID}"):
        store.get_key(E_ID, KeyKind.P3_AUTHENTICATION)
    with pytest.raises(InvalidInput, match="version 3"):
        store.get_key(E_ID, KeyKind.P3_ENCRYPTION, version=3)


def test_no_plaintext_key_in_the_database(store: Store, database: Database) -> None:
    store.put_key(E_ID, KeyKind.P3_ENCRYPTION, KEY, T0)
    for row in database.run("SELECT * FROM meter_keys"):
        for value in row:
            raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else str(value).encode()
            assert KEY not in raw and KEY.hex() not in raw.decode("latin-1")


def test_no_plaintext_key_in_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    store = open_store(f"sqlite:///{path}", sealer=counter_nonces())
    store.put_key(E_ID, KeyKind.P2_USER, KEY, T0)
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert KEY not in blob and KEY.hex().encode() not in blob


def test_wrong_master_key_fails_authentication(database: Database) -> None:
    SqlStore(database, sealer=counter_nonces()).put_key(E_ID, KeyKind.P3_ENCRYPTION, KEY, T0)
    other = SqlStore(database, sealer=KeySealer(bytes(32), bytes))
    with pytest.raises(AuthenticationError, match="wrong store master key"):
        other.get_key(E_ID, KeyKind.P3_ENCRYPTION)


def test_sealed_key_is_bound_to_its_place() -> None:
    sealer = counter_nonces()
    sealed = sealer.seal(KEY, key_context(E_ID, KeyKind.P3_ENCRYPTION, 1))
    assert sealer.unseal(sealed, key_context(E_ID, KeyKind.P3_ENCRYPTION, 1)) == KEY
    for context in (key_context(G_ID, KeyKind.P3_ENCRYPTION, 1), key_context(E_ID, KeyKind.P3_AUTHENTICATION, 1),
                    key_context(E_ID, KeyKind.P3_ENCRYPTION, 2)):
        with pytest.raises(AuthenticationError):
            sealer.unseal(sealed, context)
    with pytest.raises(AuthenticationError):
        sealer.unseal(SealedKey(sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]),
                      key_context(E_ID, KeyKind.P3_ENCRYPTION, 1))


def test_bad_keys_and_sealers() -> None:
    with pytest.raises(InvalidInput, match="master key has 16 bytes; it must be 32"):
        KeySealer(bytes(16), bytes)
    with pytest.raises(InvalidInput, match="meter key has 15 bytes"):
        counter_nonces().seal(bytes(15), b"")
    with pytest.raises(InvalidInput, match="nonce source gave"):
        KeySealer(MASTER_KEY, lambda n: b"short").seal(KEY, b"")
    assert KeySealer(MASTER_KEY, bytes).seal(KEY, b"").nonce == bytes(12)  # the caller's source is used as is


def test_a_store_without_master_key_refuses_keys(database: Database) -> None:
    store = SqlStore(database)
    with pytest.raises(MeterkastError, match="without a master key"):
        store.put_key(E_ID, KeyKind.P3_ENCRYPTION, KEY, T0)
