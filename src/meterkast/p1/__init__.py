"""P1: the customer port's telegrams, sans-I/O (SYSTEM P1, P2; DSMR-FACTS §1; docs/p1.md).

``crc`` CRC-16/ARC · ``timestamps`` TST · ``formats`` Fn(x,y), In, Sn · ``obis`` the OBIS table ·
``specs`` per-version layouts · ``encode``/``decode`` telegrams · ``plan`` the per-meter fast decoder ·
``lines`` its line-by-line path · ``convert`` Telegram → TelegramData · ``framer`` byte stream →
telegrams · ``crypto`` DLMS general-global-cipher frames (AES-128-GCM) · ``cipher_framer`` byte stream → cipher frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meterkast.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from meterkast.p1.convert import to_telegram_data
    from meterkast.p1.crc import crc16
    from meterkast.p1.crypto import decrypt_telegram, encrypt_telegram
    from meterkast.p1.data import MbusChannel, TelegramData
    from meterkast.p1.decode import decode_telegram
    from meterkast.p1.encode import encode_telegram
    from meterkast.p1.framer import Frame, P1Framer
    from meterkast.p1.plan import P1Decoder
    from meterkast.p1.specs import SPECS, TelegramSpec, spec_for
    from meterkast.p1.telegram import Header, LineError, MbusDevice, Telegram
    from meterkast.p1.values import CapturedValue, GasProfile, MaxDemand, PowerFailure, Quantity, RawValue

# Where each name below lives; imported on first use (PEP 562), so that ``import meterkast.p1.specs`` or
# ``meterkast.p1.scan`` does not load every codec, cryptography included: ``meterkast p1 parse`` and the
# parser of every command stay quick (issue 13 item 6).
_WHERE = {
    "to_telegram_data": "convert",
    "crc16": "crc",
    "decrypt_telegram": "crypto",
    "encrypt_telegram": "crypto",
    "MbusChannel": "data",
    "TelegramData": "data",
    "decode_telegram": "decode",
    "encode_telegram": "encode",
    "Frame": "framer",
    "P1Framer": "framer",
    "P1Decoder": "plan",
    "SPECS": "specs",
    "TelegramSpec": "specs",
    "spec_for": "specs",
    "Header": "telegram",
    "LineError": "telegram",
    "MbusDevice": "telegram",
    "Telegram": "telegram",
    "CapturedValue": "values",
    "GasProfile": "values",
    "MaxDemand": "values",
    "PowerFailure": "values",
    "Quantity": "values",
    "RawValue": "values",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


__all__ = [
    "SPECS",
    "CapturedValue",
    "Frame",
    "GasProfile",
    "Header",
    "LineError",
    "MaxDemand",
    "MbusChannel",
    "MbusDevice",
    "P1Decoder",
    "P1Framer",
    "PowerFailure",
    "Quantity",
    "RawValue",
    "Telegram",
    "TelegramData",
    "TelegramSpec",
    "crc16",
    "decode_telegram",
    "decrypt_telegram",
    "encode_telegram",
    "encrypt_telegram",
    "spec_for",
    "to_telegram_data",
]
