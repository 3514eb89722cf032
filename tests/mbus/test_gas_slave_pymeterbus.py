"""pyMeterBus (a peer, never imported by the package) reads our unencrypted gas RSP_UD to the model's values.

pyMeterBus scales through floats, so volumes are compared to 9 significant digits. It maps VIF 6Dh to
type F whatever the data length, so its generic ``value`` for our 6-byte type I time stamp (DIF 46h,
DSMR P2 §6.4.3) reads the first four bytes as minute/hour/day/month and comes out wrong; its own type I
decoder (``dataField.decodeDateTimeWithSeconds``) is used for the time stamp instead.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import meterbus
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import METROLOGY, MeterType
from meterkast.mbus.gas_slave import GasMeterSlave
from meterkast.mbus.link import ShortFrame, encode_frame

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADDRESS = 5


def close(ours: Decimal, theirs: Decimal) -> bool:
    return abs(ours - theirs) <= abs(ours) * Decimal("1e-9") + Decimal("1e-9")


def serve(meter_type: MeterType, steps: int, minutes: int, seal_broken: bool) -> tuple[GasMeter, bytes]:
    metrology = METROLOGY[meter_type]
    meter = GasMeter.manufacture(meter_type, "G0001123456789012", T0, random.Random(3),
                                 initial_index_m3=steps * metrology.resolution_m3)
    if seal_broken:
        meter.handle(T0, cmd.BreakSeal())
    slave = GasMeterSlave(meter, address=ADDRESS)
    reply = slave.on_request(T0 + timedelta(minutes=minutes), encode_frame(ShortFrame(0x5B, ADDRESS)))
    assert reply is not None
    return meter, reply


@given(st.sampled_from(list(MeterType)), st.integers(0, 99_999_999), st.integers(30, 60 * 24 * 400),
       st.booleans())
@settings(max_examples=60, deadline=None)
def test_pymeterbus_reads_the_model_values(meter_type: MeterType, steps: int, minutes: int, seal_broken: bool) -> None:
    meter, reply = serve(meter_type, steps, minutes, seal_broken)
    stored = meter.hourly_value
    assert stored is not None
    telegram = meterbus.load(reply)
    header = telegram.body.bodyHeader
    assert telegram.manufacturer == "ITG"
    assert "".join(f"{b:02X}" for b in header.id_nr) == f"{meter.meter_number.mbus_identification:08d}"
    assert (header.measure_medium_field.parts, header.version_field.parts) == ([0x03], [0x40])
    status, ident, stamp, volume, valve, configuration = telegram.records
    assert status.interpreted["type"] == "VIFUnitExt.ERROR_FLAGS" and status.value == meter.status_byte()
    assert ident.interpreted["type"] == "VIFUnit.FABRICATION_NO" and ident.value == str(meter.meter_number)
    assert stamp.interpreted["storage_number"] == 1
    assert stamp.dataField.decodeDateTimeWithSeconds == stored.captured_at.replace(tzinfo=None).isoformat()
    seen = volume.interpreted
    assert (seen["unit"], seen["storage_number"]) == ("MeasureUnit.M3", 1)
    assert close(stored.index_m3, volume.value)
    assert valve.interpreted["type"] == "VIFUnitExt.DIGITAL_OUTPUT" and valve.value == meter.valve.value
    assert configuration.value == 0x07


def test_pymeterbus_reads_a_g4_and_a_g10_to_their_resolutions() -> None:
    for meter_type, index in ((MeterType.G4, "1234.567"), (MeterType.G10, "123456.78")):
        resolution = METROLOGY[meter_type].resolution_m3
        meter, reply = serve(meter_type, int(Decimal(index) / resolution), 45, seal_broken=False)
        volume = meterbus.load(reply).records[3]
        assert close(Decimal(index), volume.value) and meter.index_m3 == Decimal(index)
