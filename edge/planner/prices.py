"""The site's tariff from its settings, price files read here (the I/O beside the pure
tariffs.py). A missing or malformed file is reported and the last good series, or the
configured fixed rates, are used instead: never a crash."""

from __future__ import annotations

from pathlib import Path

from edge.config import TariffConfig
from edge.planner.tariffs import (
    MAX_SERIES_SLOTS,
    SlotSeries,
    Tariff,
    TariffError,
    preset,
    series_from_csv,
)

MAX_PRICE_FILE_BYTES = 64 * MAX_SERIES_SLOTS  # a row is well under 64 bytes


def read_series(path: str, last_good: SlotSeries | None = None) -> tuple[SlotSeries | None, str]:
    """The series in a price CSV and "" , or (last_good, why it was not read)."""
    try:
        with Path(path).open("rb") as f:
            raw = f.read(MAX_PRICE_FILE_BYTES + 1)
        if len(raw) > MAX_PRICE_FILE_BYTES:
            raise TariffError(f"{path}: over {MAX_PRICE_FILE_BYTES} bytes")
        return series_from_csv(raw.decode("utf-8"), path), ""
    except OSError as exc:
        why = f"{path}: cannot read: {exc.strerror}"
    except UnicodeDecodeError:
        why = f"{path}: not UTF-8 text"
    except TariffError as exc:
        why = str(exc)
    kept = "the last good prices" if last_good is not None else "the fixed rates"
    return last_good, f"{why}; using {kept}"


def tariff_of(
    cfg: TariffConfig,
    utc_offset_s: float = 0.0,
    last_import: SlotSeries | None = None,
    last_export: SlotSeries | None = None,
) -> tuple[Tariff, list[str]]:
    """The tariff the settings describe, and what went wrong reading its files (if anything)."""
    given = {
        "day": cfg.day_p_per_kwh,
        "night": cfg.night_p_per_kwh,
        "peak": cfg.peak_p_per_kwh,
        "export": cfg.export_p_per_kwh,
    }
    prices = {k: v / 100.0 for k, v in given.items() if v is not None}
    problems: list[str] = []
    imp, exp = last_import, last_export
    if cfg.prices_csv is not None:
        imp, why = read_series(cfg.prices_csv, last_import)
        problems += [why] if why else []
    if cfg.export_prices_csv is not None:
        exp, why = read_series(cfg.export_prices_csv, last_export)
        problems += [why] if why else []
    tariff = preset(
        cfg.kind, prices, import_series=imp, export_series=exp, utc_offset_s=utc_offset_s
    )
    return tariff, problems
