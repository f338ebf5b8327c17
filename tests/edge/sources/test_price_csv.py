import pytest

from edge.sources.price_csv import MAX_FILE_BYTES, parse_prices_csv, read_prices_csv
from edge.sources.series import SourceError
from tests.edge.sources.conftest import T0_S, iso


def rows(prices: list[tuple[float, float | None]], t0: float = T0_S) -> str:
    lines = ["start,import_p_per_kwh,export_p_per_kwh"]
    for k, (imp, exp) in enumerate(prices):
        lines.append(f"{iso(t0 + 1800 * k)},{imp},{'' if exp is None else exp}")
    return "\n".join(lines) + "\n"


def test_import_and_export_columns(tmp_path):
    f = tmp_path / "prices.csv"
    f.write_text(rows([(20.0, 15.0), (-2.5, 1.0), (30.0, 12.0)]))
    imp, exp = read_prices_csv(str(f))
    assert imp is not None and exp is not None
    assert (imp.t0_s, imp.prices_gbp_per_kwh) == (T0_S, (0.2, -0.025, 0.3))
    assert exp.prices_gbp_per_kwh == (0.15, 0.01, 0.12)


def test_the_planners_own_format_and_rows_in_any_order():
    text = f"start,price_p_per_kwh\n{iso(T0_S + 1800)},11\n{iso(T0_S)},10\n"
    imp, exp = parse_prices_csv(text, "p.csv")
    assert imp is not None and imp.prices_gbp_per_kwh == (0.10, 0.11) and exp is None


def test_an_empty_export_cell_ends_the_export_series():
    imp, exp = parse_prices_csv(rows([(20, 5), (21, None), (22, 7)]), "p.csv")
    assert imp is not None and len(imp.prices_gbp_per_kwh) == 3
    assert exp is not None and exp.prices_gbp_per_kwh == (0.05,)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("when,price\n", "the header needs start and import_p_per_kwh"),
        ("start,import_p_per_kwh\n", "no rows"),
        (f"start,import_p_per_kwh\n{iso(T0_S)},cheap\n", r"line 2: import_p_per_kwh = 'cheap'"),
        ("start,import_p_per_kwh\n2025-01-06 12:00,20\n", "line 2: start .* no UTC offset"),
        (
            f"start,import_p_per_kwh\n{iso(T0_S)},99999\n",
            "line 2: import_p_per_kwh = 99999.0: outside -1000 to 1000",
        ),
        (
            f"start,import_p_per_kwh\n{iso(T0_S)},20\n{iso(T0_S)},21\n",
            "the row of 2025-01-06T12:00Z: end not after start",
        ),
    ],
)
def test_malformed_files_name_the_file_and_the_line(text, why):
    with pytest.raises(SourceError, match=f"^p.csv: {why}"):
        parse_prices_csv(text, "p.csv")


def test_missing_oversized_and_binary_files(tmp_path):
    with pytest.raises(SourceError, match=r"nope\.csv: cannot read: No such file"):
        read_prices_csv(str(tmp_path / "nope.csv"))
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    with pytest.raises(SourceError, match=f"over {MAX_FILE_BYTES} bytes"):
        read_prices_csv(str(big))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"start,import_p_per_kwh\n\xff\xfe")
    with pytest.raises(SourceError, match="not UTF-8 text"):
        read_prices_csv(str(binary))
