"""The supplier's side of SYSTEM G4: invoice correction and energy from register readings (sans-I/O)."""

from meterkast.supplier.invoice import Granularity, IndexReading, Period, SupplierView, supplier_view
from meterkast.supplier.parameters import CALORIFIC_VALUE_MJ_PER_M3, InvoiceParameters

__all__ = [
    "CALORIFIC_VALUE_MJ_PER_M3",
    "Granularity",
    "IndexReading",
    "InvoiceParameters",
    "Period",
    "SupplierView",
    "supplier_view",
]
