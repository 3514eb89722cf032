"""Wired M-Bus for DSMR P2: EN 13757-2 link layer and EN 13757-3 application layer, sans I/O.

Modules: ``link`` (frames, C/A fields), ``framer`` (byte stream → frames), ``header`` (CI, headers),
``dif``/``vif``/``vif_tables`` (record tables), ``datatypes`` (Annex A), ``records``, ``application``
(CI dispatch, telegrams), ``secondary`` (selection, scan planner), ``annotate`` and ``jsonio`` (CLI
support), ``virtual`` (in-memory bus). ``security`` (DSMR P2 §5) lives beside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meterkast.lazy_exports import lazy_getattr

if TYPE_CHECKING:
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

# Where each name below lives; imported on first use (PEP 562), so that importing one module of the package
# (``mbus.link`` for ``mbus scan``, ``mbus.master``) does not load the whole codec: the parser of every
# command stays quick (issue 13 item 6).
_WHERE = {
    "Alarm": "application",
    "ApplicationError": "application",
    "Payload": "application",
    "RawPayload": "application",
    "Telegram": "application",
    "VariableData": "application",
    "decode_payload": "application",
    "decode_telegram": "application",
    "encode_payload": "application",
    "encode_telegram": "application",
    "Direction": "framer",
    "Framer": "framer",
    "LongHeader": "header",
    "ShortHeader": "header",
    "ControlFrame": "link",
    "Frame": "link",
    "LongFrame": "link",
    "ShortFrame": "link",
    "SingleChar": "link",
    "decode_frame": "link",
    "encode_frame": "link",
    "DataRecord": "records",
    "IdleFiller": "records",
    "ManufacturerData": "records",
    "decode_records": "records",
    "encode_records": "records",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


__all__ = [
    "Alarm", "ApplicationError", "ControlFrame", "DataRecord", "Direction", "Frame", "Framer", "IdleFiller",
    "LongFrame", "LongHeader", "ManufacturerData", "Payload", "RawPayload", "ShortFrame", "ShortHeader",
    "SingleChar", "Telegram", "VariableData", "decode_frame", "decode_payload", "decode_records",
    "decode_telegram", "encode_frame", "encode_payload", "encode_records", "encode_telegram",
]
