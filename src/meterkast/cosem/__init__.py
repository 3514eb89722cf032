"""The E-meter's P3 side and a P3 client, sans I/O (DSMR 4.2.2 P3 companion standard; SYSTEM C1, C4, E3, E4).

The E-meter's COSEM objects are a table (``objects``, ``mbus_objects``, ``association``) over a live
``EMeter``; ``server`` is the association state machine that serves it (AARQ/AARE, HLS5-GMAC, security suite
0, GET/SET/ACTION in ``services``); ``client`` is the central system's state machine with generator
procedures, and ``readings`` turns what it reads into typed values. Bytes in, bytes and events out; the
TCP adapters are ``meterkast.io.p3_server`` and ``meterkast.io.p3_client``. See docs/p3.md.
"""

from meterkast.cosem.access import Client, MeterInfo
from meterkast.cosem.association import e_meter_model
from meterkast.cosem.client import Association, P3Client, Procedure
from meterkast.cosem.loopback import Loopback, run
from meterkast.cosem.readings import GasProfileRow, read_clock, read_profile, read_register
from meterkast.cosem.server import P3Server, ServerAssociation, ServerOutput

__all__ = [
    "Association", "Client", "GasProfileRow", "Loopback", "MeterInfo", "P3Client", "P3Server", "Procedure",
    "ServerAssociation", "ServerOutput", "e_meter_model", "read_clock", "read_profile", "read_register", "run",
]
