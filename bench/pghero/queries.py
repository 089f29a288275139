r"""PgHero's checks, as SQL run from Python (PgHero is a Ruby gem; Ruby is not installed here).

Copied from PgHero, https://github.com/ankane/pghero, commit 7edb57986ffd36f9d64f0830c4ccc90a5eac46d6,
lib/pghero/methods/*.rb (the SQL verbatim; Ruby's heredoc escapes resolved, ``\\`` -> ``\``; the ``#{...}``
interpolations resolved the way the dashboard calls each method) and lib/pghero/database.rb / lib/pghero.rb /
app/controllers/pg_hero/home_controller.rb (the default thresholds). The Ruby post-processing of a method
(duplicate_indexes, invalid_indexes, sequences, sequence_danger, slow_queries) is ported line by line below.
Binds are PgHero's ``:name`` placeholders, interpolated client-side as ActiveRecord's sanitize_sql_array does.

Left out: suggested_indexes (needs pg_query to parse statements), explain, kill, system stats (cloud APIs),
historical query stats and space growth (they need PgHero's own stats tables).

PgHero's licence (LICENSE.txt):

    Copyright (c) 2014-2026 Andrew Kane, 2008-2014 Heroku (initial queries)

    MIT License

    Permission is hereby granted, free of charge, to any person obtaining
    a copy of this software and associated documentation files (the
    "Software"), to deal in the Software without restriction, including
    without limitation the rights to use, copy, modify, merge, publish,
    distribute, sublicense, and/or sell copies of the Software, and to
    permit persons to whom the Software is furnished to do so, subject to
    the following conditions:

    The above copyright notice and this permission notice shall be
    included in all copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
    EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
    MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
    NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE
    LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
    OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
    WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

PGHERO_COMMIT = "7edb57986ffd36f9d64f0830c4ccc90a5eac46d6"


@dataclass
class Thresholds:
    """PgHero's defaults, as its dashboard (home_controller#index) and config use them."""

    long_running_query_sec: int = 60  # PgHero.long_running_query_sec
    slow_query_ms: int = 20  # PgHero.slow_query_ms
    slow_query_calls: int = 100  # PgHero.slow_query_calls
    total_connections_threshold: int = 500  # PgHero.total_connections_threshold
    idle_in_transaction_connections: int = 100  # @good_idle_connections = idle < 100
    cache_hit_rate_threshold: int = 99  # PgHero.cache_hit_rate_threshold (percent)
    unused_index_bytes: int = 10 * 1024 * 1024  # unused_index_megabytes: 10
    unused_index_max_scans: int = 0  # the dashboard's unused_indexes(max_scans: 0, ...)
    index_bloat_bytes: int = 100 * 1024 * 1024  # index_bloat_bytes: 100.megabytes
    transaction_id_danger_threshold: int = 1_500_000_000  # the dashboard's transaction_id_danger(threshold: 1.5e9)
    sequence_threshold: float = 0.9  # sequence_danger(threshold: 0.9)
    autovacuum_danger_threshold: int = 2_000_000  # autovacuum_danger: transaction_id_danger(threshold: 2000000, ...)
    extra: dict[str, Any] = field(default_factory=dict)


# --- indexes.rb -------------------------------------------------------------------------------------------------

INDEX_HIT_RATE = """
SELECT
  (sum(idx_blks_hit)) / nullif(sum(idx_blks_hit + idx_blks_read), 0) AS rate
FROM
  pg_statio_user_indexes
"""

MISSING_INDEXES = """
SELECT
  schemaname AS schema,
  relname AS table,
  CASE idx_scan
    WHEN 0 THEN 'Insufficient data'
    ELSE (100 * idx_scan / (seq_scan + idx_scan))::text
  END percent_of_times_index_used,
  n_live_tup AS estimated_rows
FROM
  pg_stat_user_tables
WHERE
  idx_scan > 0
  AND (100 * idx_scan / (seq_scan + idx_scan)) < 95
  AND n_live_tup >= 10000
ORDER BY
  n_live_tup DESC,
  relname ASC
"""

UNUSED_INDEXES = """
SELECT
  schemaname AS schema,
  relname AS table,
  indexrelname AS index,
  pg_relation_size(i.indexrelid) AS size_bytes,
  idx_scan as index_scans
FROM
  pg_stat_user_indexes ui
INNER JOIN
  pg_index i ON ui.indexrelid = i.indexrelid
WHERE
  NOT indisunique
  AND idx_scan <= :max_scans
  AND pg_relation_size(i.indexrelid) >= :min_size
ORDER BY
  pg_relation_size(i.indexrelid) DESC,
  relname ASC
"""

INDEXES = r"""
SELECT
  schemaname AS schema,
  t.relname AS table,
  ix.relname AS name,
  regexp_replace(pg_get_indexdef(i.indexrelid), '^[^\(]*\((.*)\)$', '\1') AS columns,
  regexp_replace(pg_get_indexdef(i.indexrelid), '.* USING ([^ ]*) \(.*', '\1') AS using,
  indisunique AS unique,
  indisprimary AS primary,
  indisvalid AS valid,
  indexprs::text,
  indpred::text,
  pg_get_indexdef(i.indexrelid) AS definition
FROM
  pg_index i
INNER JOIN
  pg_class t ON t.oid = i.indrelid
INNER JOIN
  pg_class ix ON ix.oid = i.indexrelid
LEFT JOIN
  pg_stat_user_indexes ui ON ui.indexrelid = i.indexrelid
WHERE
  schemaname IS NOT NULL
ORDER BY
  1, 2
"""

INDEX_BLOAT = """
WITH btree_index_atts AS (
  SELECT
    nspname, relname, reltuples, relpages, indrelid, relam,
    regexp_split_to_table(indkey::text, ' ')::smallint AS attnum,
    indexrelid as index_oid
  FROM
    pg_index
  JOIN
    pg_class ON pg_class.oid = pg_index.indexrelid
  JOIN
    pg_namespace ON pg_namespace.oid = pg_class.relnamespace
  JOIN
    pg_am ON pg_class.relam = pg_am.oid
  WHERE
    pg_am.amname = 'btree'
),
index_item_sizes AS (
  SELECT
    i.nspname,
    i.relname,
    i.reltuples,
    i.relpages,
    i.relam,
    (quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))::regclass AS starelid,
    a.attrelid AS table_oid, index_oid,
    current_setting('block_size')::numeric AS bs,
    /* MAXALIGN: 4 on 32bits, 8 on 64bits (and mingw32 ?) */
    CASE
      WHEN version() ~ 'mingw32' OR version() ~ '64-bit' THEN 8
      ELSE 4
    END AS maxalign,
    24 AS pagehdr,
    /* per tuple header: add index_attribute_bm if some cols are null-able */
    CASE WHEN max(coalesce(s.null_frac,0)) = 0
      THEN 2
      ELSE 6
    END AS index_tuple_hdr,
    /* data len: we remove null values save space using it fractionnal part from stats */
    sum( (1-coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 2048) ) AS nulldatawidth
  FROM
    pg_attribute AS a
  JOIN
    pg_stats AS s ON (quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))::regclass=a.attrelid AND s.attname = a.attname
  JOIN
    btree_index_atts AS i ON i.indrelid = a.attrelid AND a.attnum = i.attnum
  WHERE
    a.attnum > 0
  GROUP BY
    1, 2, 3, 4, 5, 6, 7, 8, 9
),
index_aligned AS (
  SELECT
    maxalign,
    bs,
    nspname,
    relname AS index_name,
    reltuples,
    relpages,
    relam,
    table_oid,
    index_oid,
    ( 2 +
      maxalign - CASE /* Add padding to the index tuple header to align on MAXALIGN */
        WHEN index_tuple_hdr%maxalign = 0 THEN maxalign
        ELSE index_tuple_hdr%maxalign
      END
    + nulldatawidth + maxalign - CASE /* Add padding to the data to align on MAXALIGN */
        WHEN nulldatawidth::integer%maxalign = 0 THEN maxalign
        ELSE nulldatawidth::integer%maxalign
      END
    )::numeric AS nulldatahdrwidth, pagehdr
  FROM
    index_item_sizes AS s1
),
otta_calc AS (
  SELECT
    bs,
    nspname,
    table_oid,
    index_oid,
    index_name,
    relpages,
    coalesce(
      ceil((reltuples*(4+nulldatahdrwidth))/(bs-pagehdr::float)) +
      CASE WHEN am.amname IN ('hash','btree') THEN 1 ELSE 0 END , 0 /* btree and hash have a metadata reserved block */
    ) AS otta
  FROM
    index_aligned AS s2
  LEFT JOIN
    pg_am am ON s2.relam = am.oid
),
raw_bloat AS (
  SELECT
    nspname,
    c.relname AS table_name,
    index_name,
    bs*(sub.relpages)::bigint AS totalbytes,
    CASE
      WHEN sub.relpages <= otta THEN 0
      ELSE bs*(sub.relpages-otta)::bigint END
      AS wastedbytes,
    CASE
      WHEN sub.relpages <= otta
      THEN 0 ELSE bs*(sub.relpages-otta)::bigint * 100 / (bs*(sub.relpages)::bigint) END
      AS realbloat,
    pg_relation_size(sub.table_oid) as table_bytes,
    stat.idx_scan as index_scans,
    stat.indexrelid
  FROM
    otta_calc AS sub
  JOIN
    pg_class AS c ON c.oid=sub.table_oid
  JOIN
    pg_stat_user_indexes AS stat ON sub.index_oid = stat.indexrelid
)
SELECT
  nspname AS schema,
  table_name AS table,
  index_name AS index,
  wastedbytes AS bloat_bytes,
  totalbytes AS index_bytes,
  pg_get_indexdef(rb.indexrelid) AS definition,
  indisprimary AS primary
FROM
  raw_bloat rb
INNER JOIN
  pg_index i ON i.indexrelid = rb.indexrelid
WHERE
  wastedbytes >= :min_size
ORDER BY
  wastedbytes DESC,
  index_name
"""  # noqa: E501 (PgHero's line, kept as it is)

# --- tables.rb --------------------------------------------------------------------------------------------------

TABLE_HIT_RATE = """
SELECT
  sum(heap_blks_hit) / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0) AS rate
FROM
  pg_statio_user_tables
"""

# --- maintenance.rb ---------------------------------------------------------------------------------------------

TRANSACTION_ID_DANGER = """
SELECT
  n.nspname AS schema,
  c.relname AS table,
  :max_value - GREATEST(AGE(c.relfrozenxid), AGE(t.relfrozenxid)) AS transactions_left
FROM
  pg_class c
INNER JOIN
  pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN
  pg_class t ON c.reltoastrelid = t.oid
WHERE
  c.relkind = 'r'
  AND (:max_value - GREATEST(AGE(c.relfrozenxid), AGE(t.relfrozenxid))) < :threshold
ORDER BY
 3, 1, 2
"""

VACUUM_PROGRESS = """
SELECT
  pid,
  phase
FROM
  pg_stat_progress_vacuum
WHERE
  datname = current_database()
"""

MAINTENANCE_INFO = """
SELECT
  schemaname AS schema,
  relname AS table,
  last_vacuum,
  last_autovacuum,
  last_analyze,
  last_autoanalyze,
  n_dead_tup AS dead_rows,
  n_live_tup AS live_rows
FROM
  pg_stat_user_tables
ORDER BY
  1, 2
"""

# --- queries.rb -------------------------------------------------------------------------------------------------

# running_queries(min_duration: long_running_query_sec) with all: false, as long_running_queries calls it
LONG_RUNNING_QUERIES = """
SELECT
  pid,
  state,
  application_name AS source,
  age(NOW(), COALESCE(query_start, xact_start)) AS duration,
  wait_event IS NOT NULL AS waiting,
  query,
  COALESCE(query_start, xact_start) AS started_at,
  EXTRACT(EPOCH FROM NOW() - COALESCE(query_start, xact_start)) * 1000.0 AS duration_ms,
  usename AS user,
  backend_type
FROM
  pg_stat_activity
WHERE
  state <> 'idle'
  AND pid <> pg_backend_pid()
  AND datname = current_database()
  AND NOW() - COALESCE(query_start, xact_start) > interval :min_duration
  AND query <> '<insufficient privilege>'
ORDER BY
  COALESCE(query_start, xact_start) DESC
"""

BLOCKED_QUERIES = """
SELECT
  COALESCE(blockingl.relation::regclass::text,blockingl.locktype) as locked_item,
  blockeda.pid AS blocked_pid,
  blockeda.usename AS blocked_user,
  blockeda.query as blocked_query,
  age(now(), blockeda.query_start) AS blocked_duration,
  blockedl.mode as blocked_mode,
  blockinga.pid AS blocking_pid,
  blockinga.usename AS blocking_user,
  blockinga.state AS state_of_blocking_process,
  blockinga.query AS current_or_recent_query_in_blocking_process,
  age(now(), blockinga.query_start) AS blocking_duration,
  blockingl.mode as blocking_mode
FROM
  pg_catalog.pg_locks blockedl
LEFT JOIN
  pg_stat_activity blockeda ON blockedl.pid = blockeda.pid
LEFT JOIN
  pg_catalog.pg_locks blockingl ON blockedl.pid != blockingl.pid AND (
    blockingl.transactionid = blockedl.transactionid
    OR (blockingl.relation = blockedl.relation AND blockingl.locktype = blockedl.locktype)
  )
LEFT JOIN
  pg_stat_activity blockinga ON blockingl.pid = blockinga.pid AND blockinga.datid = blockeda.datid
WHERE
  NOT blockedl.granted
  AND blockeda.query <> '<insufficient privilege>'
  AND blockeda.datname = current_database()
ORDER BY
  blocked_duration DESC
"""

# --- constraints.rb ---------------------------------------------------------------------------------------------

INVALID_CONSTRAINTS = """
SELECT
  nsp.nspname AS schema,
  rel.relname AS table,
  con.conname AS name,
  fnsp.nspname AS referenced_schema,
  frel.relname AS referenced_table
FROM
  pg_catalog.pg_constraint con
INNER JOIN
  pg_catalog.pg_class rel ON rel.oid = con.conrelid
LEFT JOIN
  pg_catalog.pg_class frel ON frel.oid = con.confrelid
LEFT JOIN
  pg_catalog.pg_namespace nsp ON nsp.oid = con.connamespace
LEFT JOIN
  pg_catalog.pg_namespace fnsp ON fnsp.oid = frel.relnamespace
WHERE
  con.convalidated = 'f'
"""

# --- connections.rb ---------------------------------------------------------------------------------------------

TOTAL_CONNECTIONS = "SELECT COUNT(*) FROM pg_stat_activity"

CONNECTION_STATES = """
SELECT
  state,
  COUNT(*) AS connections
FROM
  pg_stat_activity
GROUP BY
  1
ORDER BY
  2 DESC, 1
"""

# --- replication.rb ---------------------------------------------------------------------------------------------

REPLICATION_SLOTS = """
SELECT
  slot_name,
  database,
  active
FROM pg_replication_slots
"""

# --- sequences.rb -----------------------------------------------------------------------------------------------

SEQUENCES = """
SELECT
  sn.nspname AS schema,
  s.relname AS sequence,
  n.nspname AS table_schema,
  c.relname AS table,
  attname AS column,
  format_type(a.atttypid, a.atttypmod) AS column_type,
  pg_get_expr(d.adbin, d.adrelid) AS default_value
FROM
  pg_catalog.pg_attribute a
INNER JOIN
  pg_catalog.pg_class c ON c.oid = a.attrelid
INNER JOIN
  pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN
  pg_catalog.pg_depend dep ON dep.refclassid = 'pg_catalog.pg_class'::regclass
  AND dep.refobjid = a.attrelid
  AND dep.refobjsubid = a.attnum
  AND dep.classid = 'pg_catalog.pg_class'::regclass
  AND dep.objsubid = 0
  AND dep.deptype IN ('i', 'a')
  AND dep.objid IN (SELECT oid FROM pg_class WHERE relkind = 'S')
LEFT JOIN
  pg_catalog.pg_class s ON s.oid = dep.objid
LEFT JOIN
  pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
LEFT JOIN
  pg_catalog.pg_attrdef d ON a.attrelid = d.adrelid
  AND a.attnum = d.adnum
  AND s.relkind IS NULL
WHERE
  NOT a.attisdropped
  AND a.attnum > 0
  AND (pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval%' OR s.relname IS NOT NULL)
  AND c.relpersistence <> 't'
"""

SEQUENCE_LAST_VALUES = (
    "SELECT schemaname AS schema, sequencename AS sequence, COALESCE(last_value, start_value) AS last_value"
    " FROM pg_sequences"
)

SEQUENCE_ATTRIBUTES = """
SELECT
  n.nspname AS schema,
  c.relname AS sequence,
  has_sequence_privilege(c.oid, 'SELECT') AND (c.relpersistence <> 'u' OR NOT pg_is_in_recovery()) AS readable
FROM
  pg_class c
INNER JOIN
  pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE
  c.relkind = 'S'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

# --- query_stats.rb ---------------------------------------------------------------------------------------------

# current_query_stats(limit: 100, sort: "total_time") (user, query_hash and origin not given)
CURRENT_QUERY_STATS = """
WITH query_stats AS (
  SELECT
    LEFT(query, 10000) AS query,
    queryid AS query_hash,
    rolname AS user,
    total_plan_time + total_exec_time AS total_time,
    calls
  FROM
    pg_stat_statements
  INNER JOIN
    pg_database ON pg_database.oid = pg_stat_statements.dbid
  INNER JOIN
    pg_roles ON pg_roles.oid = pg_stat_statements.userid
  WHERE
    calls > 0 AND
    pg_database.datname = current_database()
)
(
  SELECT
    query,
    query_hash,
    query_stats.user,
    total_time,
    calls
  FROM
    query_stats
  ORDER BY
    "total_time" DESC
  LIMIT :limit
) UNION ALL (
  SELECT NULL, NULL, NULL, SUM(total_time), NULL FROM query_stats
)
"""

# --- space.rb ---------------------------------------------------------------------------------------------------

RELATION_SIZES = """
SELECT
  n.nspname AS schema,
  c.relname AS relation,
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'm' then 'matview' ELSE 'index' END AS type,
  pg_table_size(c.oid) AS size_bytes
FROM
  pg_class c
LEFT JOIN
  pg_namespace n ON n.oid = c.relnamespace
WHERE
  n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast'
  AND c.relkind IN ('r', 'm', 'i')
ORDER BY
  pg_table_size(c.oid) DESC,
  2 ASC
"""

_BIND = re.compile(r"(?<!:):([a-z_]+)\b")


def select_all(conn: psycopg.Connection[Any], query: str, binds: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """PgHero's select_all: ``:name`` binds interpolated client-side (ActiveRecord's sanitize_sql_array)."""
    with psycopg.ClientCursor(conn, row_factory=dict_row) as cur:
        if binds:
            cur.execute(_BIND.sub(r"%(\1)s", query.replace("%", "%%")).encode(), binds)
        else:
            cur.execute(query.encode())
        return cur.fetchall()


def select_one(conn: psycopg.Connection[Any], query: str, binds: dict[str, Any] | None = None) -> Any:
    rows = select_all(conn, query, binds)
    return next(iter(rows[0].values())) if rows else None


# --- the Ruby post-processing, ported ---------------------------------------------------------------------------


def _unquote(part: str | None) -> str | None:
    if part and part.startswith('"'):
        return part[1:-1]
    return part


def indexes(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """indexes: columns split from the definition (PgHero's "TODO parse array properly"), ``creating`` unset
    (running CREATE INDEX CONCURRENTLY statements are matched by text in PgHero; none run here)."""
    rows = select_all(conn, INDEXES)
    for row in rows:
        row["columns"] = [_unquote(c) for c in row["columns"].replace(") WHERE (", " WHERE ").split(", ")]
    invalid = [i for i in rows if not i["valid"]]
    if invalid:
        running = [
            q
            for q in long_running_queries(conn, min_duration=None)
            if re.search(r"\s*CREATE\s+INDEX\s+CONCURRENTLY\s+", q["query"] or "", re.IGNORECASE)
        ]
        for index in invalid:
            index["creating"] = any(
                index["table"] in q["query"] and all(c in q["query"] for c in index["columns"]) for q in running
            )
    return rows


def invalid_indexes(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return [dict(i, index=i["name"]) for i in indexes(conn) if not i["valid"] and not i.get("creating")]


def duplicate_indexes(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    all_indexes = indexes(conn)
    by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for index in all_indexes:
        by_table.setdefault((index["schema"], index["table"]), []).append(index)
    dups = []
    for index in [
        i for group in by_table.values() for i in group if i["valid"] and not i["primary"] and not i["unique"]
    ]:
        covering = next(
            (
                i
                for i in by_table[(index["schema"], index["table"])]
                if i["valid"]
                and i["name"] != index["name"]
                and i["columns"][: len(index["columns"])] == index["columns"]
                and i["using"] == index["using"]
                and i["indexprs"] == index["indexprs"]
                and i["indpred"] == index["indpred"]
            ),
            None,
        )
        if covering and (
            covering["columns"] != index["columns"]
            or index["name"] > covering["name"]
            or covering["primary"]
            or covering["unique"]
        ):
            dups.append({"unneeded_index": index, "covering_index": covering})
    return sorted(dups, key=lambda d: (d["unneeded_index"]["table"], d["unneeded_index"]["columns"]))


def long_running_queries(conn: psycopg.Connection[Any], min_duration: int | None = 60) -> list[dict[str, Any]]:
    if min_duration is None:  # running_queries() without min_duration
        query = LONG_RUNNING_QUERIES.replace(
            "  AND NOW() - COALESCE(query_start, xact_start) > interval :min_duration\n", ""
        )
        return select_all(conn, query)
    return select_all(conn, LONG_RUNNING_QUERIES, {"min_duration": f"{int(min_duration)} seconds"})


def sequences(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = select_all(conn, SEQUENCES)
    for column in rows:
        column["max_value"] = {"smallint": 32767, "integer": 2147483647}.get(column["column_type"], 9223372036854775807)
        if not column["sequence"]:
            match = re.fullmatch(r"nextval\('(.+)'::regclass\)", column["default_value"] or "") or re.fullmatch(
                r"nextval\(\('(.+)'::text\)::regclass\)", column["default_value"] or ""
            )
            if match:
                schema, _, seq = match[1].partition(".")
                if not seq:
                    schema, seq = None, schema  # type: ignore[assignment]
                column["schema"], column["sequence"] = _unquote(schema), _unquote(seq)
        if column["sequence"]:
            column.pop("default_value", None)
    attributes = select_all(conn, SEQUENCE_ATTRIBUTES)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for attr in attributes:
        by_name.setdefault(attr["sequence"], []).append(attr)
    for seq in rows:
        if seq["schema"] is None and seq["sequence"] and len(by_name.get(seq["sequence"], [])) == 1:
            seq["schema"] = by_name[seq["sequence"]][0]["schema"]
    readable = {(a["schema"], a["sequence"]): a["readable"] for a in attributes}
    for seq in rows:
        seq["readable"] = readable.get((seq["schema"], seq["sequence"]), False)
    last = {(r["schema"], r["sequence"]): r["last_value"] for r in select_all(conn, SEQUENCE_LAST_VALUES)}
    for seq in rows:
        if seq["readable"]:
            seq["last_value"] = last.get((seq["schema"], seq["sequence"]))
    return sorted(rows, key=lambda s: str(s["sequence"]))


def sequence_danger(conn: psycopg.Connection[Any], threshold: float = 0.9) -> list[dict[str, Any]]:
    found = [s for s in sequences(conn) if s.get("last_value") and s["last_value"] / float(s["max_value"]) > threshold]
    return sorted(found, key=lambda s: s["max_value"] - s["last_value"])


def slow_queries(conn: psycopg.Connection[Any], t: Thresholds) -> list[dict[str, Any]]:
    """query_stats (current, limit 100) then slow_queries' filter: calls >= 100 and average >= 20 ms."""
    stats = [r for r in select_all(conn, CURRENT_QUERY_STATS, {"limit": 100}) if r["query_hash"] is not None]
    for q in stats:
        q["average_time"] = q["total_time"] / q["calls"]
    return [q for q in stats if q["calls"] >= t.slow_query_calls and q["average_time"] >= t.slow_query_ms]


def run_checks(conn: psycopg.Connection[Any], t: Thresholds | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every PgHero method that is a check, as the dashboard judges it: method -> the rows it flags (a database-wide
    judgement, a hit rate or a connection count, becomes one row ``{"database": ...}`` when it fails)."""
    t = t or Thresholds()
    flagged: dict[str, list[dict[str, Any]]] = {}
    flagged["unused_indexes"] = select_all(
        conn, UNUSED_INDEXES, {"max_scans": t.unused_index_max_scans, "min_size": t.unused_index_bytes}
    )
    flagged["duplicate_indexes"] = [
        {"index": d["unneeded_index"]["name"], "covering_index": d["covering_index"]["name"]}
        for d in duplicate_indexes(conn)
    ]
    flagged["invalid_indexes"] = invalid_indexes(conn)
    flagged["index_bloat"] = select_all(conn, INDEX_BLOAT, {"min_size": t.index_bloat_bytes})
    flagged["missing_indexes"] = select_all(conn, MISSING_INDEXES)
    flagged["invalid_constraints"] = select_all(conn, INVALID_CONSTRAINTS)
    flagged["sequence_danger"] = sequence_danger(conn, t.sequence_threshold)
    flagged["transaction_id_danger"] = select_all(
        conn, TRANSACTION_ID_DANGER, {"max_value": 2146483648, "threshold": t.transaction_id_danger_threshold}
    )
    freeze_max = int(select_one(conn, "SHOW autovacuum_freeze_max_age"))
    flagged["autovacuum_danger"] = select_all(
        conn, TRANSACTION_ID_DANGER, {"max_value": freeze_max, "threshold": t.autovacuum_danger_threshold}
    )
    # the dashboard drops walsenders and autovacuum workers from its long-running list
    flagged["long_running_queries"] = [
        q
        for q in long_running_queries(conn, t.long_running_query_sec)
        if q["backend_type"] != "walsender" and not (q["query"] or "").startswith("autovacuum:")
    ]
    flagged["blocked_queries"] = select_all(conn, BLOCKED_QUERIES)
    rates = {"table_hit_rate": select_one(conn, TABLE_HIT_RATE), "index_hit_rate": select_one(conn, INDEX_HIT_RATE)}
    for name, rate in rates.items():
        rate = float(rate or 0)
        flagged[name] = [{"database": name, "rate": rate}] if rate < t.cache_hit_rate_threshold / 100.0 else []
    total = int(select_one(conn, TOTAL_CONNECTIONS))
    flagged["total_connections"] = (
        [{"database": "total_connections", "connections": total}] if total >= t.total_connections_threshold else []
    )
    states = {r["state"]: r["connections"] for r in select_all(conn, CONNECTION_STATES)}
    idle = int(states.get("idle in transaction") or 0)
    flagged["idle_in_transaction_connections"] = (
        [{"database": "idle in transaction", "connections": idle}] if idle >= t.idle_in_transaction_connections else []
    )
    flagged["replication_slots"] = [s for s in select_all(conn, REPLICATION_SLOTS) if not s["active"]]
    try:
        with conn.transaction():
            flagged["slow_queries"] = slow_queries(conn, t)
    except psycopg.Error:  # pg_stat_statements not installed or not loaded: PgHero shows "not enabled"
        flagged["slow_queries"] = []
    return flagged
