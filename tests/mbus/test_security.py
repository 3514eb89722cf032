"""DSMR P2 security layer: configuration word, IV, mode 15, frame counters and keys (P2-4.0.7 §5, §6.5, App. B).

Known answers from DSMR-FACTS §2.6 (a), (b), (c); the frames are rebuilt here from raw bytes so these tests do
not depend on the M-Bus codec.
"""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import AuthenticationError, CodecError, InvalidInput, RecordError, ReplayError
from meterkast.mbus.keys import (
    NO_USER_KEY,
    KeyRing,
    decode_set_key_records,
    encode_set_key_records,
    generate_user_key,
    unwrap_user_key,
    wrap_user_key,
)
from meterkast.mbus.security import (
    ConfigurationWord,
    EncryptionMode,
    FrameCounter,
    FrameCounterGuard,
    MeterIdentity,
    build_iv,
    decode_configuration_word,
    decode_frame_counter_record,
    decrypt_mode15,
    decrypt_payload,
    encode_configuration_word,
    encode_frame_counter_record,
    encrypt_mode15,
    encrypt_payload,
    join_encrypted_payload,
    pad_plaintext,
    split_encrypted_payload,
)

DEFAULT_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # App. B
USER_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # App. B
METER = MeterIdentity("NET", "23456789", 0x40, 0x03)  # App. B: ID 23456789, 'NET', DSMR 4.0, gas

# App. B1.5 rebuilt with L = 56h (the spec prints 4Fh, which leaves out the frame counter record).
RSP_UD = bytes.fromhex(
    "68 56 56 68 08 01 72 89 67 45 23 B4 38 40 03 F6 00 40 0F"
    "F1 80 C5 3E 07 68 C7 6A E6 E2 4A 98 BD D5 94 7F 62 27 32 BF 63 72 AA 2A A9 AF 6D 0F 0C 71"
    "FB 59 5D FE CC 67 2F D3 51 CC 00 A0 49 8D A5 FC 51 15 58 42 C7 76 F5 9B 31 9B 60 08 62 18"
    "3F 69 1A 68 04 FD 08 01 00 00 00 E5 16"
)
HEADER = RSP_UD[7:19]
PAYLOAD = RSP_UD[19:-2]
CIPHERTEXT = PAYLOAD[:64]
RECORDS = bytes.fromhex(
    "01 FD 17 00 0D 78 11 39 38 37 36 35 34 33 32 31 30 31 31 58 58 58 58 58"
    "46 6D 00 00 0B 32 16 00 4C 13 91 03 00 00 89 40 FD 1A 01 01 FD 67 07"
)
PLAINTEXT = b"\x2f\x2f" + RECORDS + b"\x2f" * 15

# App. B1.3 with the checksum corrected from 4Eh to 8Eh.
SET_KEY_FRAME = bytes.fromhex(
    "68 19 19 68 53 01 51 07 FD 19 03 E0 EE D1 F6 8E 9B 8F 47 FD 19 5E 13 72 75 4A B7 9F 27 8E 16"
)

keys = st.binary(min_size=16, max_size=16).filter(lambda k: k != NO_USER_KEY)
counters = st.integers(0, 0xFFFF_FFFF)
meters = st.builds(
    MeterIdentity,
    manufacturer=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
    ident=st.text("0123456789", min_size=8, max_size=8),
    version=st.integers(0, 255),
    medium=st.integers(0, 255),
)
words = st.builds(
    ConfigurationWord,
    mode=st.integers(0, 15), blocks=st.integers(0, 15), bidirectional=st.booleans(), accessibility=st.booleans(),
    synchronous=st.booleans(), content=st.integers(0, 3), hop_counter=st.integers(0, 3),
)


def long_frame(c: int, a: int, ci: int, data: bytes) -> bytes:
    """EN 13757-2 long frame: 68 L L 68 C A CI data CS 16, CS = sum of C..data mod 256."""
    body = bytes((c, a, ci)) + data
    return bytes((0x68, len(body), len(body), 0x68)) + body + bytes((sum(body) & 0xFF, 0x16))


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


# --- configuration word (§4.2.6, §5.1) -------------------------------------------------------------------


def test_spec_configuration_word_is_four_blocks_mode_15() -> None:
    word = decode_configuration_word(bytes.fromhex("40 0F"))
    assert word == ConfigurationWord.mode15(4)
    assert (word.mode, word.blocks, word.encryption, word.value) == (15, 4, EncryptionMode.AES_CBC_MODE_15, 0x0F40)
    assert encode_configuration_word(word) == bytes.fromhex("40 0F")


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("00 00", ConfigurationWord()),
        ("50 05", ConfigurationWord(mode=5, blocks=5)),  # OMS mode 5 (DSMR-FACTS §2.6 f): known, not DSMR
        ("03 A0", ConfigurationWord(bidirectional=True, synchronous=True, hop_counter=3)),
        ("0C 40", ConfigurationWord(accessibility=True, content=3)),
    ],
)
def test_configuration_word_bits(wire: str, expected: ConfigurationWord) -> None:
    assert decode_configuration_word(bytes.fromhex(wire)) == expected
    assert encode_configuration_word(expected) == bytes.fromhex(wire)


def test_mode_5_is_recognised_and_unknown_modes_are_not() -> None:
    assert ConfigurationWord(mode=5).encryption is EncryptionMode.OMS_MODE_5
    assert ConfigurationWord(mode=0).encryption is EncryptionMode.NONE
    assert ConfigurationWord(mode=9).encryption is None


@given(words)
def test_configuration_word_round_trips(word: ConfigurationWord) -> None:
    assert decode_configuration_word(encode_configuration_word(word)) == word


@given(st.integers(0, 0xFFFF).filter(lambda w: not w & 0x1000))
def test_configuration_word_bytes_round_trip(value: int) -> None:
    wire = value.to_bytes(2, "little")
    assert encode_configuration_word(decode_configuration_word(wire)) == wire


def test_configuration_word_rejects_reserved_bit_and_bad_fields() -> None:
    with pytest.raises(CodecError, match="reserved bit 12"):
        decode_configuration_word(bytes.fromhex("00 10"))
    with pytest.raises(CodecError, match="2 bytes"):
        decode_configuration_word(b"\x40")
    with pytest.raises(InvalidInput, match="blocks 16"):
        ConfigurationWord(mode=15, blocks=16)
    with pytest.raises(InvalidInput, match="at least one"):
        ConfigurationWord.mode15(0)


# --- IV and identity (§4.2.2, §5.2) ----------------------------------------------------------------------


def test_spec_iv() -> None:
    assert build_iv(METER, 1) == bytes.fromhex("B4 38 89 67 45 23 40 03 01 00 00 00 01 00 00 00")


def test_identity_comes_from_the_long_header_short_id() -> None:
    assert MeterIdentity.from_short_id(HEADER[:8]) == METER
    assert METER.short_id == HEADER[:8]
    assert (METER.manufacturer_code, METER.label) == (0x38B4, "NET 23456789")


@given(meters, counters)
def test_iv_layout(meter: MeterIdentity, frame_counter: int) -> None:
    iv = build_iv(meter, frame_counter)
    assert MeterIdentity.from_short_id(meter.short_id) == meter
    assert iv[:2] == meter.short_id[4:6] and iv[2:6] == meter.short_id[:4] and iv[6:8] == meter.short_id[6:]
    assert iv[8:12] == iv[12:] == frame_counter.to_bytes(4, "little")


def test_identity_and_counter_validation() -> None:
    with pytest.raises(InvalidInput, match="8 BCD digits"):
        MeterIdentity("NET", "1234", 0x40, 3)
    with pytest.raises(InvalidInput, match="three letters"):
        MeterIdentity("ne", "23456789", 0x40, 3)
    with pytest.raises(InvalidInput, match="4 bytes"):
        build_iv(METER, 1 << 32)


# --- App. B1.5 encrypted RSP_UD (DSMR-FACTS §2.6 c) -------------------------------------------------------


def test_spec_rsp_ud_frame_is_well_formed() -> None:
    assert long_frame(0x08, 0x01, 0x72, HEADER + PAYLOAD) == RSP_UD  # L = 56h, CS = E5h


def test_spec_rsp_ud_decrypts_to_the_listed_plaintext() -> None:
    meter = MeterIdentity.from_short_id(HEADER[:8])
    word = decode_configuration_word(HEADER[10:12])
    assert (word.encryption, word.blocks) == (EncryptionMode.AES_CBC_MODE_15, 4)
    assert split_encrypted_payload(PAYLOAD, word.blocks) == (CIPHERTEXT, 1)
    guard = FrameCounterGuard(meter=meter, channel=1)
    result = decrypt_payload(PAYLOAD, word, user_key=USER_KEY, meter=meter, guard=guard)
    assert result.records == PLAINTEXT and len(PLAINTEXT) == 64
    assert result.frame_counter == 1 and guard.last_validated is None  # checked, stored by the caller
    assert guard.accept(result.frame_counter).first


def test_spec_plaintext_re_encrypts_to_the_spec_ciphertext() -> None:
    assert encrypt_mode15(RECORDS, user_key=USER_KEY, meter=METER, frame_counter=1) == CIPHERTEXT
    secured = encrypt_payload(RECORDS, user_key=USER_KEY, meter=METER, frame_counter=1)
    assert secured.configuration == ConfigurationWord.mode15(4)
    header = METER.short_id + bytes((0xF6, 0x00)) + encode_configuration_word(secured.configuration)
    assert long_frame(0x08, 0x01, 0x72, header + secured.payload) == RSP_UD


def test_wrong_key_names_meter_and_channel_and_hides_the_key() -> None:
    wrong = bytes.fromhex("0F0E0D0C0B0A09080706050403020100")
    guard = FrameCounterGuard(meter=METER, channel=2)
    with pytest.raises(AuthenticationError) as info:
        decrypt_payload(PAYLOAD, ConfigurationWord.mode15(4), user_key=wrong, meter=METER, guard=guard)
    message = str(info.value)
    assert "NET 23456789" in message and "channel 2" in message and "user key" in message and "E-meter" in message
    assert wrong.hex() not in message.lower() and USER_KEY.hex() not in message.lower()
    assert guard.last_validated is None  # a frame that fails decryption does not move the guard


def test_spec_frame_replayed_is_rejected() -> None:
    guard = FrameCounterGuard(meter=METER, channel=1)
    result = decrypt_payload(PAYLOAD, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    assert result.frame_counter is not None
    guard.accept(result.frame_counter)
    with pytest.raises(ReplayError) as info:
        decrypt_payload(PAYLOAD, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    message = str(info.value)
    assert "NET 23456789" in message and "channel 1" in message and "frame counter 1" in message
    assert "last validated frame counter 1" in message


def test_block_count_must_match_the_configuration_word() -> None:
    with pytest.raises(CodecError, match="3 × 16"):
        decrypt_payload(PAYLOAD, ConfigurationWord.mode15(3), user_key=USER_KEY, meter=METER)
    with pytest.raises(CodecError, match="multiple of 16"):
        decrypt_mode15(CIPHERTEXT[:40], user_key=USER_KEY, meter=METER, frame_counter=1)
    with pytest.raises(InvalidInput, match="at most 15"):
        encrypt_mode15(bytes(239), user_key=USER_KEY, meter=METER, frame_counter=1)


def test_padding_adds_an_extra_block_when_needed() -> None:
    assert pad_plaintext(bytes(14)) == b"\x2f\x2f" + bytes(14)
    assert pad_plaintext(bytes(15)) == b"\x2f\x2f" + bytes(15) + b"\x2f" * 15
    assert pad_plaintext(b"") == b"\x2f" * 16


# --- unencrypted operation and modes that are not DSMR (§5.1, §6.5) --------------------------------------


def test_zero_user_key_sends_mode_0_without_frame_counter() -> None:
    secured = encrypt_payload(RECORDS, user_key=NO_USER_KEY, meter=METER, frame_counter=7)
    assert secured.configuration == ConfigurationWord() and secured.payload == RECORDS
    result = decrypt_payload(RECORDS, secured.configuration, user_key=NO_USER_KEY, meter=METER)
    assert (result.records, result.frame_counter) == (RECORDS, None)


def test_plain_data_is_refused_once_a_user_key_is_set() -> None:
    with pytest.raises(AuthenticationError, match=r"mode 0\) while a user key is set"):
        decrypt_payload(RECORDS, ConfigurationWord(), user_key=USER_KEY, meter=METER, channel=1)


def test_encrypted_data_without_a_user_key_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="no user key is known"):
        decrypt_payload(PAYLOAD, ConfigurationWord.mode15(4), user_key=NO_USER_KEY, meter=METER)


def test_oms_mode_5_is_not_decrypted() -> None:
    with pytest.raises(CodecError, match="OMS mode 5 is not DSMR P2"):
        decrypt_payload(PAYLOAD, ConfigurationWord(mode=5, blocks=4), user_key=USER_KEY, meter=METER)


# --- frame counter record and guards (§5.2, Figure 4) -----------------------------------------------------


def test_frame_counter_record_and_payload_split() -> None:
    assert encode_frame_counter_record(1) == bytes.fromhex("04 FD 08 01 00 00 00")
    assert decode_frame_counter_record(bytes.fromhex("04 FD 08 78 56 34 12")) == 0x12345678
    assert join_encrypted_payload(CIPHERTEXT, 1) == PAYLOAD
    with pytest.raises(CodecError, match="04 FD 08"):
        decode_frame_counter_record(bytes.fromhex("04 FD 09 01 00 00 00"))
    with pytest.raises(CodecError, match="7-byte frame counter"):
        split_encrypted_payload(PAYLOAD + b"\x2f", 4)


@given(st.binary(min_size=16, max_size=16 * 15).filter(lambda b: len(b) % 16 == 0), counters)
def test_payload_split_round_trips(encrypted: bytes, frame_counter: int) -> None:
    payload = join_encrypted_payload(encrypted, frame_counter)
    assert split_encrypted_payload(payload, len(encrypted) // 16) == (encrypted, frame_counter)


def test_guard_flags_the_first_counter_after_installation() -> None:
    guard = FrameCounterGuard(meter=METER, channel=1)
    first = guard.accept(41)
    assert first.first and first.previous is None and first.missed == 0  # caller records the time stamp
    later = guard.accept(44)
    assert not later.first and later.previous == 41 and later.missed == 2
    with pytest.raises(ReplayError, match="frame counter 43 is not above"):
        guard.accept(43)
    guard.check(45)
    assert guard.last_validated == 44  # check() stores nothing


def test_forged_frame_with_a_high_counter_does_not_move_the_guard() -> None:
    guard = FrameCounterGuard(meter=METER, channel=1, last_validated=0)
    forged = join_encrypted_payload(bytes(64), 1000)
    with pytest.raises(AuthenticationError):
        decrypt_payload(forged, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    assert guard.last_validated == 0
    result = decrypt_payload(PAYLOAD, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    assert guard.last_validated == 0  # decrypting never stores: the caller commits a validated frame
    assert result.frame_counter == 1


def test_a_decrypted_frame_with_a_high_counter_does_not_move_the_guard() -> None:
    # The attack: FFFFFFFF in clear passes 2F 2F (only block 1 bytes 8..15 change), but it is
    # not stored by decrypting, so the genuine counter 1 after it still passes the guard.
    guard = FrameCounterGuard(meter=METER, channel=1, last_validated=0)
    forged = join_encrypted_payload(CIPHERTEXT, 0xFFFF_FFFF)
    decrypt_payload(forged, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    assert guard.last_validated == 0
    guard.check(1)


@given(st.lists(counters, max_size=40), st.none() | counters)
def test_guard_accepts_only_a_strictly_increasing_sequence(received: list[int], start: int | None) -> None:
    guard = FrameCounterGuard(last_validated=start)
    accepted: list[int] = []
    for counter in received:
        before = guard.last_validated
        try:
            guard.accept(counter)
        except ReplayError:
            assert guard.last_validated == before
        else:
            accepted.append(counter)
        assert before is None or (guard.last_validated or 0) >= before  # never backwards
    bounded = accepted if start is None else [start, *accepted]
    assert all(a < b for a, b in pairwise(bounded))
    model: list[int] = []  # and it rejects nothing that is above everything before it
    for counter in received:
        if (start is None or counter > start) and (not model or counter > model[-1]):
            model.append(counter)
    assert accepted == model


def test_emeter_and_gas_meter_follow_figure_4() -> None:
    gas, emeter = FrameCounter(meter=METER), FrameCounterGuard(meter=METER, channel=1)
    assert gas.value == 0
    emeter.accept(gas.advance())  # RSP_UD with FC 1
    command = emeter.next_for_sending()  # SND_UD with FC 2
    gas.accept(command)
    assert (command, gas.value) == (2, 2)
    emeter.accept(gas.advance())  # next RSP_UD with FC 3
    assert emeter.last_validated == 3
    with pytest.raises(ReplayError, match="NET 23456789"):
        gas.accept(command)  # the same SND_UD again


@given(st.integers(0, 1000), st.integers(1, 50))
def test_gas_meter_counter_adds_exactly_one(start: int, frames: int) -> None:
    counter = FrameCounter(start)
    assert [counter.advance() for _ in range(frames)] == list(range(start + 1, start + frames + 1))


def test_gas_meter_counter_is_never_reset_or_wrapped() -> None:
    counter = FrameCounter(0xFFFF_FFFF, meter=METER)
    with pytest.raises(InvalidInput, match="never be reset"):
        counter.advance()
    assert counter.value == 0xFFFF_FFFF


# --- properties of mode 15 -------------------------------------------------------------------------------


@given(st.binary(max_size=237), keys, meters, counters)
def test_mode15_round_trips(records: bytes, key: bytes, meter: MeterIdentity, frame_counter: int) -> None:
    secured = encrypt_payload(records, user_key=key, meter=meter, frame_counter=frame_counter)
    assert secured.configuration.blocks * 16 == len(pad_plaintext(records))
    result = decrypt_payload(secured.payload, secured.configuration, user_key=key, meter=meter)
    assert result.records == pad_plaintext(records) and result.frame_counter == frame_counter


@settings(derandomize=True)  # detection is 1 - 2**-16 per flip; the oracle below keeps the test exact
@given(st.binary(max_size=100), keys, st.integers(0, 127))
def test_a_flipped_bit_in_the_first_block_is_caught_by_the_fillers(records: bytes, key: bytes, bit: int) -> None:
    encrypted = bytearray(encrypt_mode15(records, user_key=key, meter=METER, frame_counter=5))
    encrypted[bit // 8] ^= 1 << (bit % 8)
    garbled = aes_cbc_decrypt(key, build_iv(METER, 5), bytes(encrypted[:16]))
    if garbled[:2] == b"\x2f\x2f":  # the garbled block starts with 2F 2F by chance: mode 15 cannot tell
        decrypt_mode15(bytes(encrypted), user_key=key, meter=METER, frame_counter=5)
    else:
        with pytest.raises(AuthenticationError):
            decrypt_mode15(bytes(encrypted), user_key=key, meter=METER, frame_counter=5)


@pytest.mark.parametrize("bit", range(128))
def test_every_first_block_bit_flip_of_the_spec_frame_is_caught(bit: int) -> None:
    encrypted = bytearray(CIPHERTEXT)
    encrypted[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(AuthenticationError):
        decrypt_mode15(bytes(encrypted), user_key=USER_KEY, meter=METER, frame_counter=1)


@pytest.mark.parametrize("byte", [16, 31, 32, 63])
def test_a_flip_in_a_later_block_is_not_caught_here(byte: int) -> None:
    # Mode 15 has no MAC: a changed later block garbles that block and flips the same bit in the next one.
    # Only the record parser or the E-meter's plausibility checks can notice; this layer accepts it.
    encrypted = bytearray(CIPHERTEXT)
    encrypted[byte] ^= 0x01
    plaintext = decrypt_mode15(bytes(encrypted), user_key=USER_KEY, meter=METER, frame_counter=1)
    changed = {i for i in range(64) if plaintext[i] != PLAINTEXT[i]}
    block = byte // 16
    assert changed <= set(range(16 * block, 16 * block + 16)) | {byte + 16}
    if byte + 16 < 64:
        assert plaintext[byte + 16] == PLAINTEXT[byte + 16] ^ 0x01


def test_a_raised_frame_counter_only_alters_bytes_8_to_15_of_the_first_block() -> None:
    # The counter feeds IV bytes 8..15, and IV xor D(C1) gives the first plaintext block: the 2F 2F check
    # survives. A replayed frame with a higher counter passes this layer; its records come out altered.
    guard = FrameCounterGuard(meter=METER, channel=1, last_validated=1)
    replay = join_encrypted_payload(CIPHERTEXT, 2)
    result = decrypt_payload(replay, ConfigurationWord.mode15(4), user_key=USER_KEY, meter=METER, guard=guard)
    changed = {i for i in range(64) if result.records[i] != PLAINTEXT[i]}
    assert changed == {8, 12}  # 1 xor 2 = 3 in the low byte of each counter copy


# --- keys (§6.5, App. B1.3) -------------------------------------------------------------------------------


def test_spec_key_wrap_and_set_new_key_frame() -> None:
    wrapped = wrap_user_key(DEFAULT_KEY, USER_KEY)
    assert wrapped == bytes.fromhex("279FB74A7572135E8F9B8EF6D1EEE003")
    records = encode_set_key_records(wrapped)
    assert records == bytes.fromhex("07 FD 19 03 E0 EE D1 F6 8E 9B 8F 47 FD 19 5E 13 72 75 4A B7 9F 27")
    frame = long_frame(0x53, 0x01, 0x51, records)
    assert frame == SET_KEY_FRAME
    assert frame[-2] == 0x8E  # the spec prints 4Eh: a misprint (4Eh would need DIF 07h twice)
    assert decode_set_key_records(SET_KEY_FRAME[7:-2]) == wrapped
    assert unwrap_user_key(DEFAULT_KEY, wrapped) == USER_KEY


def test_osgp_key_wrap_vector() -> None:
    master, key = bytes(range(16)), bytes.fromhex("11111111222222223333333344444455")
    assert wrap_user_key(master, key) == bytes.fromhex("08EAB184363141F1E7B554939DFB75B8")


def test_the_device_installs_the_key_from_the_spec_frame() -> None:
    device = KeyRing(DEFAULT_KEY)
    assert not device.is_encrypted
    installed = device.accept_set_key_records(SET_KEY_FRAME[7:-2])
    assert installed.user_key == USER_KEY and installed.is_encrypted and installed.default_key == DEFAULT_KEY
    assert installed.set_key_records == SET_KEY_FRAME[7:-2]
    assert installed.wrapped_user_key == bytes.fromhex("279FB74A7572135E8F9B8EF6D1EEE003")
    assert not installed.with_user_key(NO_USER_KEY).is_encrypted  # key 0: back to unencrypted (§6.5.1)


@given(keys, st.binary(min_size=16, max_size=16))
def test_key_transfer_round_trips(default_key: bytes, user_key: bytes) -> None:
    ring = KeyRing(default_key, user_key)
    assert KeyRing(default_key).accept_set_key_records(ring.set_key_records) == ring
    records = ring.set_key_records
    assert decode_set_key_records(records[11:] + records[:11]) == ring.wrapped_user_key  # either order


def test_set_key_records_are_checked() -> None:
    records = encode_set_key_records(bytes(16))
    with pytest.raises(RecordError, match="22 bytes"):
        decode_set_key_records(records[:-1])
    with pytest.raises(RecordError, match="sent twice"):
        decode_set_key_records(records[:11] + records[:11])
    with pytest.raises(RecordError, match="07 FD 19 or 47 FD 19"):
        decode_set_key_records(b"\x04\xfd\x08" + records[3:])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: wrap_user_key(bytes(15), USER_KEY), "default key"),
        (lambda: wrap_user_key(DEFAULT_KEY, bytes(17)), "user key"),
        (lambda: unwrap_user_key(DEFAULT_KEY, bytes(8)), "wrapped user key"),
        (lambda: KeyRing(DEFAULT_KEY, b"short"), "user key"),
        (lambda: encrypt_mode15(b"", user_key=bytes(24), meter=METER, frame_counter=1), "user key"),
    ],
)
def test_wrong_key_lengths_name_the_key(call: object, name: str) -> None:
    assert callable(call)
    with pytest.raises(InvalidInput, match=f"^{name} must be 16 bytes"):
        call()


def test_key_ring_repr_shows_no_key_bytes() -> None:
    ring = KeyRing(DEFAULT_KEY, USER_KEY)
    assert repr(ring) == "KeyRing(is_encrypted=True)" and DEFAULT_KEY.hex() not in str(ring)


def test_new_user_keys_come_from_the_injected_source() -> None:
    assert generate_user_key(random.Random(7)) == generate_user_key(random.Random(7))
    assert generate_user_key(random.Random(7)) != generate_user_key(random.Random(8))

    class ZeroFirst(random.Random):
        calls = 0

        def getrandbits(self, k: int, /) -> int:
            self.calls += 1
            return 0 if self.calls == 1 else super().getrandbits(k)

    source = ZeroFirst(1)
    assert generate_user_key(source) != NO_USER_KEY and source.calls == 2
