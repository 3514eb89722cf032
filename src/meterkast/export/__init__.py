"""Exports: P1 telegrams and the central system's readings as JSON lines, CSV or Parquet (issue 13).

``table`` holds the column model and the writers (CSV with the standard library, Parquet with pyarrow,
imported only when asked for); ``p1_rows`` and ``cs_rows`` turn a telegram or a stored reading into one
row of their documented schema (docs/p1.md, docs/cs.md "Exports"). Register values are exact: Decimal
columns (Parquet ``decimal128(p, 3)``, CSV the digits as sent), never floats.
"""
