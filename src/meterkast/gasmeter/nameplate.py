"""The nameplate texts of each Itron meter (SYSTEM G13; seed §10 "Teksten/symbolen op de meter", items 1–9).

``lines()`` prints the texts in the manual's order: item 1 is the meter number under the barcode
(``identity.py``); items 2–9 are these fields. Per type: Qmax, Qmin, Qt, Pmax, V, class (``metrology.py``).
Per meter: the year of manufacture (item 4, "2012: Jaartal van productie"), which is the meter number's last
two digits (item 1), and the year in the CE metrology mark (item 7, "M12": the year of "Manufacturing").
Pa (item 5, "Basisdruk + gasdruk − drukverlies over de meter") is the absolute pressure the meter
converts with: the DSMR 4.0.x assumption of 1013.25 mbar air pressure + 28 mbar net gas pressure =
1041.25 mbar (DSMR-M 4.3.48; SYSTEM G3, G4).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterkast.gasmeter.identity import (
    CeMarking,
    CertificateNumber,
    MeterNumber,
    parse_ce_marking,
    parse_certificate,
)
from meterkast.gasmeter.metrology import METROLOGY, MeterType
from meterkast.units import ASSUMED_PRESSURE_DSMR40_MBAR

# The manual's example nameplate (seed §10 items 4 and 7) shows 2012 and CE M12; a plate drawn without a
# meter number keeps that year.
EXAMPLE_YEAR = 2012
NOTIFIED_BODY = "0102"  # the manual's CE example (seed §10 item 7)


@dataclass(frozen=True, slots=True)
class Nameplate:
    meter_type: MeterType
    qmax_m3h: Decimal
    qmin_m3h: Decimal
    qt_m3h: Decimal
    pmax_mbar: int
    cyclic_volume_dm3: Decimal
    accuracy_class: Decimal
    type_approval_code: str
    mechanical_class: str  # M1: mechanical environment
    electromagnetic_class: str  # E2: electromagnetic environment
    ambient_range_c: tuple[int, int]  # Tm
    base_temperature_c: int  # Tb,i: the meter converts to 0 °C (DSMR-M 4.3.48)
    specified_temperature_c: int  # Tsp
    standard: str
    ce_marking: CeMarking
    certificate: CertificateNumber
    dsmr_version: str
    base_pressure_mbar: Decimal  # Pa: air pressure + gas pressure − pressure loss over the meter (item 5)
    year_of_manufacture: int | None  # item 4; None on a plate drawn for a type, not for one meter

    def lines(self) -> list[str]:
        """The texts as printed, grouped as the manual's items 2–9, one line each, for a UI or the CLI."""
        low, high = self.ambient_range_c
        year = f"   {self.year_of_manufacture}" if self.year_of_manufacture is not None else ""
        return [
            f"{self.meter_type.value}",
            f"Qmax {self.qmax_m3h} m³/h   Qmin {self.qmin_m3h} m³/h",
            f"Code {self.type_approval_code}   V {self.cyclic_volume_dm3} dm³   Class {self.accuracy_class}   "
            f"{self.mechanical_class} {self.electromagnetic_class}",
            f"Qt {self.qt_m3h} m³/h   Pmax {self.pmax_mbar / 1000:g} bar{year}",
            f"Pa {self.base_pressure_mbar} mbar   Tm {low} °C … +{high} °C   Tb,i {self.base_temperature_c} °C   "
            f"Tsp {self.specified_temperature_c} °C",
            f"{self.standard}   {self.ce_marking}   {self.certificate}",
            f"DSMR {self.dsmr_version}",
        ]


def nameplate_for(meter_type: MeterType, meter_number: MeterNumber | None = None) -> Nameplate:
    """The plate of one meter (``meter_number`` given) or of its type (the manual's example year)."""
    m = METROLOGY[meter_type]
    year = meter_number.year if meter_number is not None else None
    return Nameplate(
        meter_type=meter_type,
        qmax_m3h=m.qmax_m3h,
        qmin_m3h=m.qmin_m3h,
        qt_m3h=m.qt_m3h,
        pmax_mbar=m.pmax_mbar,
        cyclic_volume_dm3=m.cyclic_volume_dm3,
        accuracy_class=m.accuracy_class,
        # The manual shows the KIWA family code G0001 for the Itron series (seed §9 "Metercode").
        type_approval_code="G0001",
        mechanical_class="M1",
        electromagnetic_class="E2",
        ambient_range_c=(-10, 40),  # DSMR G-meter operating range [MAIN-4.2.2]; EN 1359 scope
        base_temperature_c=0,
        specified_temperature_c=15,
        standard="EN 1359/A1:2006",
        # "CE markering met het jaartal «Manufacturing» (M12)" (seed §10 item 7): the year the meter was made.
        ce_marking=parse_ce_marking(f"CE M{(year or EXAMPLE_YEAR) % 100:02d} {NOTIFIED_BODY}"),
        certificate=parse_certificate("DK-0200-MI002-019"),  # the manual's example (seed §10.8)
        dsmr_version="4.0.5",
        base_pressure_mbar=ASSUMED_PRESSURE_DSMR40_MBAR,
        year_of_manufacture=year,
    )
