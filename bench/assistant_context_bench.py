"""Context building for the assistant on a generated 5,000-table schema: time and size vs the budget.

Run: .venv/bin/python bench/assistant_context_bench.py [--tables 5000] [--runs 15] [--budget 8000]

The catalog objects are built in memory exactly as ``catalog.list_tables`` + ``load_extras`` return them
(no database needed: what is measured is the index, the retrieval and the rendering). Printed:

* index build time (once per catalog refresh; the assistant caches it for 5 minutes);
* per-question context time (retrieval + FK glue + rendering), median and max over the runs, for several
  questions;
* context size in estimated tokens against the budget (never above it).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dba_admin.assistant.schema_index import SchemaIndex, estimate_tokens
from dba_admin.catalog import ColumnInfo, TableInfo

DOMAINS = [
    "sales",
    "billing",
    "crm",
    "hr",
    "inventory",
    "logistics",
    "support",
    "marketing",
    "finance",
    "clinic",
    "vendas",
    "estoque",
    "financeiro",
    "atendimento",
    "agenda",
]
ENTITIES = [
    "customer",
    "order",
    "invoice",
    "payment",
    "product",
    "shipment",
    "ticket",
    "employee",
    "campaign",
    "appointment",
    "message",
    "supplier",
    "contract",
    "refund",
    "cliente",
    "pedido",
    "pagamento",
    "produto",
    "agendamento",
    "mensagem",
    "fornecedor",
    "nota_fiscal",
    "lembrete",
    "conversa",
]
COLUMN_WORDS = [
    "name",
    "status",
    "amount",
    "price",
    "total",
    "phone_number",
    "email",
    "created_at",
    "updated_at",
    "description",
    "notes",
    "quantity",
    "discount",
    "tax",
    "address",
    "city",
    "code",
    "kind",
    "nome",
    "valor",
    "telefone",
    "data",
    "observacao",
    "quantidade",
    "situacao",
    "desconto",
]
TYPES = ["text", "integer", "bigint", "numeric(10,2)", "timestamp with time zone", "boolean", "uuid", "jsonb"]


def synthetic_catalog(n_tables: int, seed: int = 7) -> tuple[list[TableInfo], list[tuple[str, str, str, Any]]]:
    """``n_tables`` tables in 20 schemas with 6-40 columns, comments and foreign keys to earlier tables."""
    rng = random.Random(seed)
    tables: list[TableInfo] = []
    extras: list[tuple[str, str, str, Any]] = []
    names: list[tuple[str, str]] = []
    for i in range(n_tables):
        schema = f"app{i % 20:02d}"
        domain, entity = rng.choice(DOMAINS), rng.choice(ENTITIES)
        name = f"{domain}_{entity}_{i}"
        cols = [ColumnInfo("id", "bigint", False, None, None, 1)]
        for k in range(rng.randint(5, 39)):
            word = rng.choice(COLUMN_WORDS)
            comment = f"The {word.replace('_', ' ')} of the {entity.replace('_', ' ')}" if rng.random() < 0.4 else None
            cols.append(ColumnInfo(f"{word}_{k}", rng.choice(TYPES), rng.random() < 0.5, None, comment, k + 2))
        extras.append(("k", schema, name, ["p", f"{name}_pkey", ["id"], None, None, [], None]))
        for f in range(rng.randint(0, 3) if names else 0):
            ref_schema, ref_name = rng.choice(names)
            col = f"{ref_name.split('_')[1]}_ref_{f}"
            cols.append(ColumnInfo(col, "bigint", True, None, None, len(cols) + 1))
            extras.append(("k", schema, name, ["f", f"{name}_{col}_fkey", [col], ref_schema, ref_name, ["id"], None]))
        if rng.random() < 0.3:
            extras.append(("p", schema, name, [f"{name}_own", "r", "(owner_id = auth.uid())"]))
        if rng.random() < 0.5:
            extras.append(
                (
                    "k",
                    schema,
                    name,
                    [
                        "c",
                        f"{name}_status_check",
                        [],
                        None,
                        None,
                        [],
                        "CHECK (status = ANY (ARRAY['open'::text, 'closed'::text]))",
                    ],
                )
            )
        comment = f"{entity.replace('_', ' ').title()} records of the {domain} area" if rng.random() < 0.7 else None
        tables.append(
            TableInfo(
                schema,
                name,
                "table",
                rng.randint(0, 5_000_000),
                rng.randint(8192, 10**10),
                rng.random() < 0.6,
                False,
                1,
                comment,
                "postgres",
                False,
                False,
                False,
                tuple(cols),
            )
        )
        names.append((schema, name))
    return tables, extras


QUESTIONS = [
    "which table holds the customer's phone number?",
    "onde ficam os pagamentos dos pedidos?",
    "how do I join invoices and shipments?",
    "count refunds per status in billing",
    "latest support tickets",
    "app07.sales_order_1234 columns",
    "something that matches nothing at all: zebra quasar",
]


def context_for(index: SchemaIndex, question: str, budget: int) -> tuple[int, int]:
    """What Assistant._prompt does for the schema part: rank, add join glue, render into the budget."""
    matches = index.search(question, limit=40)
    ordered = [m.table.qualified_name for m in matches]
    top = ordered[:3]
    ordered = list(dict.fromkeys([*top, *index.join_glue(top), *ordered]))
    rendered = index.render(ordered, budget)
    assert rendered.tokens <= budget, (question, rendered.tokens, budget)
    assert estimate_tokens(rendered.text) == rendered.tokens
    return rendered.tokens, len(rendered.tables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--budget", type=int, default=8000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    tables, extras = synthetic_catalog(args.tables)
    t1 = time.perf_counter()
    index = SchemaIndex.from_catalog(tables, extras)
    t2 = time.perf_counter()
    n_columns = sum(len(t.columns) for t in tables)
    print(
        f"synthetic catalog: {len(tables)} tables, {n_columns} columns, "
        f"{sum(1 for e in extras if e[0] == 'k' and e[3][0] == 'f')} foreign keys "
        f"(generated in {t1 - t0:.2f} s)"
    )
    print(f"index build: {(t2 - t1) * 1000:.0f} ms (once per catalog refresh)")
    full = sum(estimate_tokens(t) for t in (repr(tt) for tt in tables))
    print(f"whole schema would be ~{full:,} tokens; budget {args.budget:,} tokens\n")
    print(f"{'question':<52} {'median ms':>9} {'max ms':>7} {'tokens':>7} {'tables':>6}")
    worst = 0.0
    for question in QUESTIONS:
        times = []
        tokens = shown = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            tokens, shown = context_for(index, question, args.budget)
            times.append((time.perf_counter() - start) * 1000)
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"{question[:52]:<52} {med:>9.1f} {max(times):>7.1f} {tokens:>7} {shown:>6}")
    for budget in (500, 2000, 32000):
        tokens, shown = context_for(index, QUESTIONS[0], budget)
        print(f"budget {budget:>6}: context {tokens} tokens, {shown} tables (within budget)")
    print(f"\nworst median per-question context time: {worst:.1f} ms (target < 200 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
