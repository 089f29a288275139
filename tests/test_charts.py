"""dba_admin.charts: figures from real demo results, and the plain messages for choices that cannot be drawn."""

from __future__ import annotations

import pandas as pd
import pytest

from dba_admin.charts import CHART_TYPES, ChartError, ChartSpec, build_figure, column_roles, default_spec
from dba_admin.database import DatabaseManager


@pytest.fixture(scope="module")
def by_species(db: DatabaseManager) -> pd.DataFrame:
    (result,) = db.execute_query(
        "select species, sex, count(*) as pets, avg(weight_kg) as avg_weight, min(created_at)::date as first_day"
        " from public.pets group by species, sex order by species, sex",
        read_only=True,
    )
    assert result.ok and result.row_count > 1
    return result.rows


def test_column_roles_know_decimal_and_dates(by_species: pd.DataFrame) -> None:
    roles = column_roles(by_species)
    assert roles == {
        "species": "category",
        "sex": "category",
        "pets": "numeric",
        "avg_weight": "numeric",  # numeric -> Decimal objects
        "first_day": "temporal",
    }


@pytest.mark.parametrize("kind", CHART_TYPES)
def test_every_chart_type_draws(by_species: pd.DataFrame, kind: str) -> None:
    spec = ChartSpec(kind, "species", "avg_weight", "sex" if kind != "pie" else None)
    fig = build_figure(by_species, spec, title="pets")
    assert fig.data, "at least one trace"
    assert fig.layout.title.text == "pets"


def test_bar_and_pie_without_y_count_rows(by_species: pd.DataFrame) -> None:
    bar = build_figure(by_species, ChartSpec("bar", "species"))
    assert sum(sum(t.y) for t in bar.data) == len(by_species.index)
    pie = build_figure(by_species, ChartSpec("pie", "sex"))
    assert sum(pie.data[0].values) == len(by_species.index)


def test_decimal_y_is_plotted_as_numbers(by_species: pd.DataFrame) -> None:
    fig = build_figure(by_species, ChartSpec("scatter", "pets", "avg_weight"))
    assert all(isinstance(v, float) for v in fig.data[0].y)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ChartSpec("radar", "species"), "unknown chart type"),
        (ChartSpec("bar", "nope"), "no column 'nope'"),
        (ChartSpec("line", "species"), "needs a Y column"),
        (ChartSpec("bar", "species", "sex"), "Y must be a numeric column"),
    ],
)
def test_invalid_choices_say_what_to_change(by_species: pd.DataFrame, spec: ChartSpec, message: str) -> None:
    with pytest.raises(ChartError, match=message):
        build_figure(by_species, spec)


def test_empty_and_too_many_slices(db: DatabaseManager) -> None:
    with pytest.raises(ChartError, match="no rows"):
        build_figure(pd.DataFrame({"a": []}), ChartSpec("bar", "a"))
    (result,) = db.execute_query("select id::text as id, 1 as one from public.pets limit 60", read_only=True)
    with pytest.raises(ChartError, match="too many slices"):
        build_figure(result.rows, ChartSpec("pie", "id", "one"))


def test_default_spec_guesses(by_species: pd.DataFrame) -> None:
    assert default_spec(by_species) == ChartSpec("line", "first_day", "pets")
    assert default_spec(by_species[["species", "pets"]]) == ChartSpec("bar", "species", "pets")
    assert default_spec(by_species[["pets", "avg_weight"]]) == ChartSpec("scatter", "pets", "avg_weight")
    assert default_spec(by_species[["pets"]]) == ChartSpec("histogram", "pets")
    assert default_spec(by_species[["species"]]) == ChartSpec("bar", "species")
    assert default_spec(pd.DataFrame()) is None
