"""The nameplate texts of each Itron meter type (SYSTEM G13; seed §10 "Teksten/symbolen op de meter")."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterkast.gasmeter.identity import CeMarking, CertificateNumber, parse_ce_marking, parse_certificate
from meterkast.gasmeter.metrology import METROLOGY, MeterType


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

    def lines(self) -> list[str]:
        """The texts as printed, one per line, for a UI or the CLI."""
        low, high = self.ambient_range_c
        return [
            f"{self.meter_type.value}",
            f"Qmax {self.qmax_m3h} m³/h   Qmin {self.qmin_m3h} m³/h   Qt {self.qt_m3h} m³/h",
            f"Pmax {self.pmax_mbar / 1000:g} bar   V {self.cyclic_volume_dm3} dm³   Class {self.accuracy_class}",
            f"Code {self.type_approval_code}   {self.mechanical_class} {self.electromagnetic_class}",
            f"Tm {low} °C … +{high} °C   Tb,i {self.base_temperature_c} °C   Tsp {self.specified_temperature_c} °C",
            f"{self.standard}   {self.ce_marking}   {self.certificate}",
            f"DSMR {self.dsmr_version}",
        ]


def nameplate_for(meter_type: MeterType) -> Nameplate:
    m = METROLOGY[meter_type]
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
        ce_marking=parse_ce_marking("CE M12 0102"),  # the manual's example (seed §10.7)
        certificate=parse_certificate("DK-0200-MI002-019"),  # the manual's example (seed §10.8)
        dsmr_version="4.0.5",
    )
