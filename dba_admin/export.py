"""A result DataFrame as CSV, JSON or Excel bytes for the download buttons.

Results come from PostgreSQL through psycopg, so columns hold Decimal, UUID, dict/list (json/jsonb), arrays,
timezone-aware datetimes, date/time and text that may contain control characters. Each format gets values it
can hold without losing them: JSON keeps json values as JSON, Excel gets naive UTC datetimes (it has no time
zones) and text, and a text cell that starts with "=" stays text in Excel instead of becoming a formula.

CSV has no cell types, so a spreadsheet opening it decides: a text cell that starts with ``=``, ``+``, ``-``,
``@``, tab or carriage return may run as a formula (CSV injection). Every CSV the app offers goes through
:func:`to_csv_bytes`, which prefixes such text cells (and column names) with a single quote, as OWASP
recommends. Only text is changed: a number column's -5 is written as -5, a text column's "-5" as "'-5".
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import io
import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pandas as pd

__all__ = [
    "CSV_FORMULA_PREFIXES",
    "EXCEL_MAX_ROWS",
    "excel_available",
    "neutralize_csv_cell",
    "to_csv_bytes",
    "to_excel_bytes",
    "to_json_bytes",
]

EXCEL_MAX_ROWS = 1_048_575  # one sheet's rows, less the header
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What makes a spreadsheet read a CSV cell as a formula (OWASP "CSV Injection").
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Integers stay integers; other decimals as numbers when exact in a float, else as text.
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _plain(value: Any) -> Any:
    """A cell as a Python value json.dumps understands (numpy and pandas scalars unwrapped, NaN/NaT -> None)."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, list | dict | str | bytes):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value
    return value


def neutralize_csv_cell(value: Any) -> Any:
    """A text value that a spreadsheet would read as a formula, prefixed with ``'``; anything else unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_text(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, default=_json_default)  # starts with { or [: never a formula
    return neutralize_csv_cell(value)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (RFC 4180: CRLF rows) with a header, no index; json values as JSON text, NULL as an empty field.

    The one CSV writer of the app (results, explorer pages, the audit log): text cells and column names that
    start like a formula are neutralised (see the module docstring); numbers, dates and booleans are not text
    and are written as they are.
    """
    out = frame.copy()
    out.columns = [neutralize_csv_cell(str(c)) for c in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.isetitem(position, column.map(_csv_text, na_action="ignore").to_numpy(dtype=object))
    # CRLF rows (RFC 4180): the writer then quotes any cell holding a CR or LF, which a lone "\n" terminator
    # leaves bare for CR, splitting the row in a spreadsheet.
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def to_json_bytes(frame: pd.DataFrame) -> bytes:
    """A JSON array of row objects (column order kept); json/jsonb values stay JSON, NULL is null."""
    columns = [str(c) for c in frame.columns]
    records = [
        dict(zip(columns, (_plain(v) for v in row), strict=True)) for row in frame.itertuples(index=False, name=None)
    ]
    return json.dumps(records, default=_json_default, ensure_ascii=False, indent=2).encode("utf-8")


def excel_available() -> bool:
    """Excel needs openpyxl; the page hides the button (and says why) when it is missing."""
    return importlib.util.find_spec("openpyxl") is not None


def _excel_value(value: Any) -> Any:
    value = _plain(value)
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date | dt.time):
        if isinstance(value, dt.time) and value.tzinfo is not None:
            return value.isoformat()
        return value
    if isinstance(value, dict | list):
        value = json.dumps(value, default=_json_default, ensure_ascii=False)
    elif not isinstance(value, str):
        value = _json_default(value)
    return _ILLEGAL_XML.sub("\ufffd", str(value))


def to_excel_bytes(frame: pd.DataFrame, *, sheet_name: str = "result") -> bytes:
    """An .xlsx workbook with one sheet; datetimes in UTC (Excel has no time zones), text never a formula.

    Raises ValueError when the result has more rows than a sheet holds.
    """
    # Imported by name: openpyxl ships no type hints, and only this function needs it.
    openpyxl = importlib.import_module("openpyxl")
    write_only_cell = importlib.import_module("openpyxl.cell").WriteOnlyCell

    if len(frame.index) > EXCEL_MAX_ROWS:
        raise ValueError(f"{len(frame.index)} rows do not fit in one Excel sheet (max {EXCEL_MAX_ROWS}); use CSV")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_name[:31] or "result")

    def cell(value: Any) -> Any:
        c = write_only_cell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            c.data_type = "s"  # openpyxl would write it as a formula otherwise
        return c

    sheet.append([cell(_excel_value(str(c))) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([cell(_excel_value(v)) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
