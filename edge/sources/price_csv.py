"""Prices from a CSV file the user keeps (or a script writes).

Columns, in a header line:
- `start`: the slot's start, ISO 8601 with its offset (2025-01-06T16:00:00Z or
  2025-01-06T16:00:00+00:00);
- `import_p_per_kwh` (or `price_p_per_kwh`, edge.planner's own price file): the import
  price, p/kWh, VAT included;
- `export_p_per_kwh` (optional): the export price, p/kWh;
- `end` (optional): the slot's end; without it a slot lasts until the next row's start
  (the last one as long as the one before it, or 30 minutes).
Rows in any order; slots of 15 or 30 minutes; a cell left empty is no price for that
slot (the series ends before it). The file is read in full and at most MAX_FILE_BYTES.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from edge.sources.octopus import MAX_ABS_P_PER_KWH
from edge.sources.series import (
    MAX_SLOTS,
    SLOT_S,
    Period,
    PriceSeries,
    SourceError,
    iso_utc,
    number,
    parse_time,
    slot_means,
)

MAX_FILE_BYTES = 64 * MAX_SLOTS  # a row is well under 64 bytes
IMPORT_COLUMNS = ("import_p_per_kwh", "price_p_per_kwh")


def _float(cell: str | None, source: str, what: str) -> float | None:
    if cell is None or not cell.strip():
        return None
    try:
        value: object = float(cell)
    except ValueError:
        value = cell
    return number(value, source, what, -MAX_ABS_P_PER_KWH, MAX_ABS_P_PER_KWH) / 100.0


def parse_prices_csv(
    text: str, source: str, slot_s: float = SLOT_S
) -> tuple[PriceSeries | None, PriceSeries | None]:
    """(import, export) series from the file's text; None for a column it lacks."""
    reader = csv.DictReader(io.StringIO(text))
    names = reader.fieldnames or []
    imp_col = next((c for c in IMPORT_COLUMNS if c in names), None)
    if "start" not in names or imp_col is None:
        raise SourceError(source, "the header needs start and import_p_per_kwh columns")
    rows: list[tuple[float, float | None, float | None, float | None]] = []
    for row in reader:
        if len(rows) >= MAX_SLOTS:
            raise SourceError(source, f"more than {MAX_SLOTS} rows")
        line = f"line {reader.line_num}"
        start = parse_time(row.get("start"), source, f"{line}: start")
        end = parse_time(row["end"], source, f"{line}: end") if row.get("end") else None
        imp = _float(row.get(imp_col), source, f"{line}: {imp_col}")
        exp = _float(row.get("export_p_per_kwh"), source, f"{line}: export_p_per_kwh")
        rows.append((start, end, imp, exp))
    if not rows:
        raise SourceError(source, "no rows")
    rows.sort(key=lambda r: r[0])
    ends: list[float] = []
    for k, (start, end, _i, _e) in enumerate(rows):
        if end is None:
            nxt = rows[k + 1][0] if k + 1 < len(rows) else None
            end = nxt if nxt is not None else start + (ends[-1] - rows[k - 1][0] if k else slot_s)
        if not end > start:
            raise SourceError(source, f"the row of {iso_utc(start)}: end not after start")
        ends.append(end)

    def series(col: int) -> PriceSeries | None:
        periods: list[Period] = []
        for (start, _end, *prices), end in zip(rows, ends, strict=True):
            price = prices[col]
            if price is None:
                if periods:
                    break
                continue
            periods.append((start, end, price))
        if not periods:
            return None
        t0, values = slot_means(periods, slot_s, source)
        return PriceSeries(t0, slot_s, values)

    imp_series = series(0)
    if imp_series is None:
        raise SourceError(source, f"no import prices in column {imp_col}")
    return imp_series, series(1)


def read_prices_csv(
    path: str, slot_s: float = SLOT_S
) -> tuple[PriceSeries | None, PriceSeries | None]:
    """The file's (import, export) series; SourceError naming the file otherwise."""
    try:
        with Path(path).expanduser().open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SourceError(path, f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SourceError(path, f"over {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 text (byte at offset {exc.start})") from None
    return parse_prices_csv(text, path, slot_s)
