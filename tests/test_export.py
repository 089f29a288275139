"""dba_admin.export on real query results: the values psycopg returns for PostgreSQL's types survive each format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from dba_admin.database import DatabaseManager
from dba_admin.export import excel_available, to_csv_bytes, to_excel_bytes, to_json_bytes

TYPES_SQL = """
select 1::int as i, 12.50::numeric(10,2) as price, 'tab\there' as txt, '=1+2' as formula,
       '{"a": [1, 2]}'::jsonb as doc, array['x', 'y'] as tags, null::text as nothing,
       '2025-03-04 05:06:07+00'::timestamptz as at, '2025-03-04'::date as day,
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as id, true as flag, E'bell\\x07' as ctrl
"""


@pytest.fixture(scope="module")
def frame(db: DatabaseManager) -> pd.DataFrame:
    (result,) = db.execute_query(TYPES_SQL, read_only=True)
    assert result.ok, result.error
    return result.rows


def test_csv_round_trip(frame: pd.DataFrame) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv_bytes(frame).decode("utf-8"))))
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == list(frame.columns)
    assert row["i"] == "1" and row["price"] == "12.50" and row["txt"] == "tab\there"
    assert json.loads(row["doc"]) == {"a": [1, 2]}
    assert json.loads(row["tags"]) == ["x", "y"]
    assert row["nothing"] == ""
    assert row["at"].startswith("2025-03-04 05:06:07")
    assert row["id"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


def test_json_keeps_types(frame: pd.DataFrame) -> None:
    (row,) = json.loads(to_json_bytes(frame))
    assert list(row) == list(frame.columns)
    assert row["i"] == 1 and row["price"] == 12.5 and row["flag"] is True
    assert row["doc"] == {"a": [1, 2]} and row["tags"] == ["x", "y"]
    assert row["nothing"] is None
    assert dt.datetime.fromisoformat(row["at"]) == dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert row["day"] == "2025-03-04"
    assert row["id"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


def test_json_of_many_demo_rows(db: DatabaseManager) -> None:
    (result,) = db.execute_query("select * from public.pets order by id limit 500", read_only=True)
    data = json.loads(to_json_bytes(result.rows))
    assert len(data) == 500 and data[0]["id"] < data[1]["id"]
    assert set(data[0]) == set(result.rows.columns)


def test_excel_values_and_no_formula(frame: pd.DataFrame) -> None:
    assert excel_available()
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame)))
    sheet = book["result"]
    header = [c.value for c in sheet[1]]
    assert header == list(frame.columns)
    values = dict(zip(header, (c for c in sheet[2]), strict=True))
    assert values["i"].value == 1
    assert Decimal(str(values["price"].value)) == Decimal("12.50")
    assert values["formula"].value == "=1+2" and values["formula"].data_type == "s", "text, not a formula"
    assert json.loads(values["doc"].value) == {"a": [1, 2]}
    assert values["nothing"].value is None
    assert values["at"].value == dt.datetime(2025, 3, 4, 5, 6, 7), "naive UTC"
    assert values["day"].value.date() == dt.date(2025, 3, 4)
    assert values["id"].value == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert values["flag"].value is True
    assert values["ctrl"].value == "bell\ufffd", "control characters Excel refuses are replaced"


def test_empty_result_exports_header_only(db: DatabaseManager) -> None:
    (result,) = db.execute_query("select id, name from public.pets where false", read_only=True)
    assert to_csv_bytes(result.rows).decode().strip() == "id,name"
    assert json.loads(to_json_bytes(result.rows)) == []
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(result.rows)))["result"]
    assert [c.value for c in sheet[1]] == ["id", "name"] and sheet.max_row == 1
