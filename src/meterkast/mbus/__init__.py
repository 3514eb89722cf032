"""Wired M-Bus for DSMR P2: EN 13757-2 link layer and EN 13757-3 application layer, sans I/O.

Modules: ``link`` (frames, C/A fields), ``framer`` (byte stream → frames), ``header`` (CI, headers),
``dif``/``vif``/``vif_tables`` (record tables), ``datatypes`` (Annex A), ``records``, ``application``
(CI dispatch, telegrams), ``secondary`` (selection, scan planner), ``annotate`` and ``jsonio`` (CLI
support), ``virtual`` (in-memory bus). ``security`` (DSMR P2 §5) lives beside them.
"""

from __future__ import annotations

from meterkast.mbus.application import (
    Alarm,
    ApplicationError,
    Payload,
    RawPayload,
    Telegram,
    VariableData,
    decode_payload,
    decode_telegram,
    encode_payload,
    encode_telegram,
)
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.header import LongHeader, ShortHeader
from meterkast.mbus.link import (
    ControlFrame,
    Frame,
    LongFrame,
    ShortFrame,
    SingleChar,
    decode_frame,
    encode_frame,
)
from meterkast.mbus.records import (
    DataRecord,
    IdleFiller,
    ManufacturerData,
    decode_records,
    encode_records,
)

__all__ = [
    "Alarm", "ApplicationError", "ControlFrame", "DataRecord", "Direction", "Frame", "Framer", "IdleFiller",
    "LongFrame", "LongHeader", "ManufacturerData", "Payload", "RawPayload", "ShortFrame", "ShortHeader",
    "SingleChar", "Telegram", "VariableData", "decode_frame", "decode_payload", "decode_records",
    "decode_telegram", "encode_frame", "encode_payload", "encode_records", "encode_telegram",
]
