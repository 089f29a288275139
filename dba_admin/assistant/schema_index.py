"""Index the catalog once, then pick and render the tables a question is about, inside a token budget.

Why this exists: the assistants people compare us with paste the whole schema into the prompt (it
overflows on big databases) or retrieve by embedding similarity alone (it picks unrelated tables). Here
retrieval is lexical and explainable, in English and Portuguese:

* every table is indexed by the words of its name, comment, column names and column comments, folded
  (lower case, accents removed), split on ``_``/camelCase and stemmed by the Snowball stemmers of both
  languages (plurals, verb forms and derivations meet: "aluguéis"/"aluguel", "rented"/"rent");
* words belong to the concepts of a general bilingual business vocabulary (:mod:`vocabulary`:
  cliente/customer, aluguel/locação/rental, faixa/track, fornecedor/supplier...), so a Portuguese question
  finds English table names and back; related concepts (revenue -> payments, invoices) count less;
* base tables are preferred to views (a view wins only when it matches clearly better), a materialized
  view that was never populated is known but demoted and marked, partitions are their parent (their
  foreign keys and row counts are the parent's), and the app's own tables are left out of the workspace;
* scores are weighted by field (a name beats a column, a column beats a comment) and by rarity (idf), then
  foreign-key neighbours of strong matches and the tables of earlier turns get a smaller share;
* the chosen tables are rendered as compact DDL, most relevant first, each at the richest level of detail
  that still fits the budget, so the output never exceeds the budget whatever the schema size.

Building the index costs two catalog round trips whatever the number of tables (``catalog.list_tables``
plus one query for keys, policies and indexes); answering a question touches only the posting lists of
its words.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import snowballstemmer

from dba_admin.assistant.vocabulary import CONCEPT_WORDS, RELATED
from dba_admin.catalog import APP_SCHEMAS, SYSTEM_LIKE_SCHEMAS, ColumnInfo, TableInfo, is_app_object

__all__ = [
    "CONCEPTS",
    "STOP_WORDS",
    "ColumnRef",
    "ForeignKeyEdge",
    "IndexedTable",
    "JoinPath",
    "RenderedContext",
    "SchemaIndex",
    "TableMatch",
    "ValueMatch",
    "analyse",
    "concepts_of",
    "estimate_tokens",
    "fold",
    "load_extras",
    "stem",
    "terms",
    "words",
]

# Characters per token used for every budget decision. Real tokenizers give ~4 characters per token for
# English prose, fewer for identifiers, numbers and Portuguese; 3 keeps a margin so the estimate stays
# above what the model will count.
CHARS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """A conservative token count (over-estimates on purpose; budgets are never exceeded)."""
    return -(-len(text) // CHARS_PER_TOKEN)


# --------------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without accents: "Serviço" and "servico" are the same word to the index."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    """Folded words of free text or an identifier (snake_case and camelCase split)."""
    return _WORD.findall(fold(_CAMEL.sub(" ", text)))


# Real stemmers (Snowball, as in PostgreSQL's own full-text search) for both languages. A word's *term* is
# its English stem after Portuguese plurals are made singular (English rules remove the -s of both
# languages); its Portuguese stem is a second key, so verb forms and derivations of Portuguese words meet
# ("canceladas", "cancelamento" -> "cancel"). Both sides (catalog and question) go through the same steps.
_EN_STEMMER = snowballstemmer.stemmer("english")
_PT_STEMMER = snowballstemmer.stemmer("portuguese")

# Portuguese plurals the English rules cannot undo, on folded words (no accents left to guide the stemmer).
_PT_PLURALS: tuple[tuple[str, str, int], ...] = (
    ("coes", "cao", 5),  # locacoes -> locacao
    ("oes", "ao", 5),  # botoes -> botao
    ("aes", "ao", 5),  # paes -> pao
    ("eis", "el", 6),  # alugueis -> aluguel
    ("ois", "ol", 6),  # lencois -> lencol
    ("gens", "gem", 6),  # mensagens -> mensagem (English "-ens" plurals such as tokens are left alone)
)
_IRREGULAR = {
    "itens": "item",
    "ordens": "ordem",
    "homens": "homem",
    "margens": "margem",
    "people": "person",
    "children": "child",
    "data": "data",
    "media": "media",
    "status": "status",
}


def _singular(word: str) -> str:
    """A Portuguese (or irregular English) plural made singular; anything else unchanged."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ais") and not word.endswith("ails") and len(word) > 5:  # animais (not "emails")
        return word[:-3] + "al"
    for suffix, replacement, min_len in _PT_PLURALS:
        if word.endswith(suffix) and len(word) >= min_len:
            return word[: -len(suffix)] + replacement
    return word


def _stems(word: str) -> tuple[str, str]:
    """(English stem, Portuguese stem) of a folded word, after :func:`_singular`."""
    if len(word) <= 2 or word.isdigit():
        return word, word
    single = _singular(word)
    if len(single) <= 3:
        return single, single
    # The Portuguese rules need the accent of "-ção" (folded away) to strip that suffix: "vegetacao" stems
    # to "veget" (as "vegetation" does) only when written "vegetação".
    pt_word = single[:-3] + "ção" if single.endswith("cao") else single
    return _EN_STEMMER.stemWord(single), fold(_PT_STEMMER.stemWord(pt_word))


@functools.lru_cache(maxsize=100_000)
def _analyse(word: str) -> tuple[str, str | None]:
    """(term, second key or None) of one folded word: the term is the vocabulary's readable form of the
    English stem when there is one ("categori" -> "category"), so answers can quote it."""
    en, pt = _stems(word)
    term = _LEMMA.get(en, en)
    alt = _LEMMA.get(pt, pt)
    # A Portuguese "stem" that only keeps an English ending ("rentals" for "rental") adds nothing.
    return term, (alt if len(alt) >= 3 and not alt.startswith(term) else None)


def stem(word: str) -> str:
    """The term of one word: the same for singular and plural, for both languages ("pagamentos" -> "pagamento")."""
    folded = fold(word)
    return _analyse(folded)[0] if _WORD.fullmatch(folded) else folded


def analyse(text: str) -> list[tuple[str, str | None]]:
    """(term, second key) of each meaningful word of ``text`` (stop words left out; numbers kept, as
    identifiers carry them: ``orders_2024``)."""
    out = []
    for w in words(text):
        if w in STOP_WORDS:
            continue
        term, alt = _analyse(w)
        if len(term) > 1 and term not in STOP_WORDS:
            out.append((term, alt))
    return out


def terms(text: str) -> list[str]:
    """Stemmed words, stop words removed: what the index stores and what a question is reduced to."""
    return [t for t, _ in analyse(text)]


# Question words and filler of both languages that say nothing about which table is meant (folded words,
# in every form that occurs: they are removed before stemming, so "store" stays a word while "stored" goes).
STOP_WORDS: frozenset[str] = frozenset(
    """
    a an the of to in on at for from by with and or not no nor is are was were be been being this that these
    those it its which what where when who whom whose how why do does did done can could would should will
    shall may might must i me my we our you your he she they them their there here as if then than so such
    into onto about over under all any each every some per via also only just more most less least very
    please show shows showing tell give giving get got find finding list listing table tables column
    columns field fields info information stored storing hold holds holding held kept keep keeps keeping
    saved save live lives located database databases db schema schemas query queries sql select write
    need want know use used using many much one two three four five ten new old whats which s t d
    o os as um uma uns umas de do da dos das no na nos nas em por para pra pro com sem e ou nao sim que
    qual quais quem onde quando como porque por que ser esta estao estava estavam fica ficam sao foi
    foram eram era tem tinha ter ha houve isso isto esse essa esses essas este estes aquele aquela
    aqueles aquelas meu minha meus minhas seu sua seus suas nosso nossa voce voces eu nos ele ela eles
    elas lhe tabela tabelas coluna colunas campo campos dado dados informacao informacoes guardado
    guardada guardados guardadas guarda guardam guardo armazenado armazenada armazenados armazena
    armazenam salvo salvos salva salvas banco bancos esquema mostre mostrar mostra mostrando liste listar
    lista listando me diga dizer preciso quero queria saber usar todos todas todo toda cada algum alguma
    alguns algumas muito muitos muita muitas mais menos count counting counted quantos quantas quanto
    quanta contar conte contagem latest last recent recently newest oldest top first ultimo ultima
    ultimos ultimas recente recentes primeiro primeira primeiros primeiras join joins joined joining
    juntar junte junto juntos ligar ligo liga ligam ligados relacionar relaciono relacionado relacionados
    relacionada relacionadas relate related relates relationship relationships relacao relacoes connect
    connected connects conectar conectado combinar combine cruzar between entre describe descreva
    descrever descreve descricao explain explique structure estrutura make fazer faco faz escreva existe
    exist exists exists error erro doesnt dont isnt arent group grouped grouping grupo agrupado agrupados
    agrupar agrupe rank ranked ranking average avg mean sum summed minimum maximum min max media_de
    minimo maximo highest lowest biggest smallest largest best worst maior maiores menor menores melhor
    melhores pior piores never nunca jamais ever ainda yet still already ja nothing nada nenhum nenhuma
    anything anyone someone nobody ninguem alguem during durante since desde until ate before after
    antes depois ago atras today hoje yesterday ontem tomorrow amanha year years ano anos month months
    mes meses week weeks semana semanas day days dia dias january february march april june july august
    september october november december janeiro fevereiro marco abril maio junho julho agosto setembro
    outubro novembro dezembro above below acima abaixo than greater fewer like same mesmo mesma other
    outro outra outros outras path caminho way forma_de whose cujo cuja
    """.split()  # noqa: SIM905
)


def _build_vocabulary() -> None:
    """Fill the lemmas, the one-concept map and the two multi-concept maps from :mod:`vocabulary`."""
    lemma: dict[str, str] = {}
    entries: list[tuple[str, str]] = []  # (concept, folded word)
    for concept, text in CONCEPT_WORDS.items():
        for raw in text.split():
            ws = words(raw)
            if len(ws) != 1:
                continue
            entries.append((concept, ws[0]))
    for _concept, w in sorted(entries, key=lambda e: (len(e[1]), e[1])):  # shortest word names its stem
        en, _pt = _stems(w)
        lemma.setdefault(en, w)
    _LEMMA.update(lemma)
    compat: dict[str, str] = {}
    primary: dict[str, list[str]] = {}
    secondary: dict[str, list[str]] = {}
    for concept, w in entries:
        if w in STOP_WORDS:
            continue
        term, alt = _analyse(w)
        compat.setdefault(term, concept)
        if concept not in primary.setdefault(term, []):
            primary[term].append(concept)
        if alt is not None and concept not in secondary.setdefault(alt, []):
            secondary[alt].append(concept)
    CONCEPTS.update(compat)
    _CONCEPTS_BY_TERM.update({k: tuple(v) for k, v in primary.items()})
    _CONCEPTS_BY_SECOND_KEY.update({k: tuple(v) for k, v in secondary.items()})


_LEMMA: dict[str, str] = {}
# term -> its first concept (kept for callers that want one canonical name per word).
CONCEPTS: dict[str, str] = {}
_CONCEPTS_BY_TERM: dict[str, tuple[str, ...]] = {}
_CONCEPTS_BY_SECOND_KEY: dict[str, tuple[str, ...]] = {}
_build_vocabulary()
RELATED_CONCEPTS: dict[str, tuple[str, ...]] = {
    c: tuple(r for r in rel if r in CONCEPT_WORDS and r != c) for c, rel in RELATED.items()
}


def concept_of(term: str) -> str | None:
    """The first concept of a term (None for a word outside the vocabulary)."""
    return CONCEPTS.get(term)


def concepts_of(term: str, alt: str | None = None) -> tuple[str, ...]:
    """Every concept a word belongs to: by its term, else by its second (Portuguese) key."""
    found = _CONCEPTS_BY_TERM.get(term)
    if found:
        return found
    return _CONCEPTS_BY_SECOND_KEY.get(alt, ()) if alt else ()


# --------------------------------------------------------------------------------------------------
# Indexed objects
# --------------------------------------------------------------------------------------------------


_MAX_JOIN_PATHS = 64


def _sibling_steps(path: tuple[tuple[str, ...], tuple[ForeignKeyEdge, ...]]) -> int:
    """How often a join path goes up a foreign key to a table and straight back down to another table that also
    references it: rows that only share a parent (an airport, a store), a weaker link than a chain of keys."""
    chain, edges = path
    steps = 0
    for i in range(len(edges) - 1):
        up = edges[i].table == chain[i] and edges[i].ref_table == chain[i + 1]
        down = edges[i + 1].ref_table == chain[i + 1] and edges[i + 1].table == chain[i + 2]
        steps += up and down
    return steps


@dataclass(frozen=True)
class ForeignKeyEdge:
    """A foreign key from ``table(columns)`` to ``ref_table(ref_columns)`` (qualified names).

    ``declared_on``: the partitions that declare it, when it is declared on partitions rather than on their
    partitioned parent (``table``), which it is attributed to so joins go through the parent.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    declared_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnRef:
    table: str  # qualified
    column: str


@dataclass
class IndexedTable:
    """What the assistant knows about one table: enough to render DDL-like context and build joins."""

    schema: str
    name: str
    kind: str = "table"
    comment: str | None = None
    columns: tuple[ColumnInfo, ...] = ()
    estimated_rows: int | None = None
    total_bytes: int = 0
    rls_enabled: bool = False
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    fks_out: list[ForeignKeyEdge] = field(default_factory=list)
    fks_in: list[ForeignKeyEdge] = field(default_factory=list)
    checks: tuple[str, ...] = ()
    policies: tuple[tuple[str, str, str | None], ...] = ()  # name, command, USING
    indexes: tuple[tuple[str, bool, tuple[str, ...]], ...] = ()  # name, unique, key columns/expressions
    # False for a materialized view never refreshed (relispopulated): reading it fails, so never propose it.
    populated: bool = True
    partition_of: str | None = None  # for a partition: its root partitioned table (qualified)
    partitions: tuple[str, ...] = ()  # for a partitioned table: its partitions, all levels (qualified)

    @property
    def queryable(self) -> bool:
        """Can a SELECT read it? (not a materialized view that was never populated)"""
        return self.populated

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnInfo | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def fk_for_column(self, column: str) -> ForeignKeyEdge | None:
        for fk in self.fks_out:
            if column in fk.columns:
                return fk
        return None


@dataclass(frozen=True)
class TableMatch:
    table: IndexedTable
    score: float
    reasons: tuple[str, ...]
    columns: tuple[str, ...] = ()  # columns that matched, best first
    matched_terms: tuple[str, ...] = ()  # the question's words that found this table
    question_terms: int = 0  # how many meaningful words the question had

    @property
    def coverage(self) -> float:
        """Share of the question's words that this table matched (1.0 when the question had none)."""
        return len(self.matched_terms) / self.question_terms if self.question_terms else 1.0


@dataclass(frozen=True)
class ValueMatch:
    """A value a question names, found in a column's statistics or its enum type (see :meth:`SchemaIndex.values_for`).

    ``score`` is in (0, 1]: 1.0 when every word of the value is a word of the question (or the value equals the
    phrase), less for a synonym, a Portuguese stem, or a value only partly named. ``source`` is ``"enum"`` (the
    type's labels, always known) or ``"stats"`` (pg_stats, known only once ANALYZE has run).
    """

    table: str  # qualified
    column: str
    value: str  # exactly as stored, to be quoted as a literal
    score: float
    source: str = "stats"


@dataclass(frozen=True)
class JoinPath:
    """The shortest foreign-key path between two tables, as the edges to follow in order."""

    tables: tuple[str, ...]
    edges: tuple[ForeignKeyEdge, ...]


@dataclass(frozen=True)
class RenderedContext:
    text: str
    tables: tuple[str, ...]  # qualified names rendered, in order
    tokens: int  # estimate_tokens(text)
    budget: int
    omitted: int  # relevant tables left out for lack of budget


# --------------------------------------------------------------------------------------------------
# Loading keys, policies and indexes (one round trip for the whole database)
# --------------------------------------------------------------------------------------------------

# The value index (pg_stats, never table data): columns whose distinct values are few enough to list, at most
# so many values per column and in all, short values only.
VALUES_MAX_DISTINCT = 500
VALUES_PER_COLUMN = 100
VALUES_MAX_COLUMNS = 600
VALUES_MAX_TOTAL = 5000
VALUE_MAX_CHARS = 60
# A value named by a translation ("Brasil" for "Brazil") is named; one sharing only a Portuguese stem
# ("Brasília") less so.
VALUE_CONCEPT_FACTOR = 0.9
VALUE_STEM_FACTOR = 0.8

_EXTRAS_SQL = """
SELECT /* dba_admin */ 'k', n.nspname, c.relname,
       json_build_array(k.contype::text, k.conname,
         (SELECT coalesce(json_agg(a.attname ORDER BY u.ord), '[]'::json)
            FROM unnest(k.conkey) WITH ORDINALITY u(num, ord)
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num),
         rn.nspname, rc.relname,
         (SELECT coalesce(json_agg(a.attname ORDER BY u.ord), '[]'::json)
            FROM unnest(k.confkey) WITH ORDINALITY u(num, ord)
            JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num),
         CASE WHEN k.contype = 'c' THEN pg_get_constraintdef(k.oid, true) END)::text
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = k.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE k.contype IN ('p', 'u', 'f', 'c') AND k.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'p', n.nspname, c.relname,
       json_build_array(pol.polname, pol.polcmd::text, pg_get_expr(pol.polqual, pol.polrelid))::text
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'i', n.nspname, c.relname,
       json_build_array(ic.relname, i.indisunique,
         (SELECT coalesce(json_agg(pg_get_indexdef(i.indexrelid, g.k, true) ORDER BY g.k), '[]'::json)
            FROM generate_series(1, i.indnkeyatts) g(k)))::text
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'r', n.nspname, c.relname,
       json_build_array(c.relkind::text, c.relispopulated, rn.nspname, r.relname)::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class r ON c.relispartition AND r.oid = pg_partition_root(c.oid)
LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE (c.relispartition OR (c.relkind = 'm' AND NOT c.relispopulated))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'e', n.nspname, t.typname,
       json_build_array(format_type(t.oid, NULL),
         (SELECT coalesce(json_agg(e.enumlabel ORDER BY e.enumsortorder), '[]'::json)
            FROM pg_enum e WHERE e.enumtypid = t.oid))::text
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 's', v.schemaname, v.tablename, v.payload FROM (
  SELECT s.schemaname, s.tablename,
         json_build_array(s.attname, s.null_frac, d.estimate,
           (s.most_common_vals::text::text[])[1:%(per_column)s],
           CASE WHEN d.estimate <= %(max_distinct)s
                THEN (s.histogram_bounds::text::text[])[1:%(per_column)s] END)::text AS payload,
         d.estimate
  FROM pg_stats s
  JOIN pg_namespace n ON n.nspname = s.schemaname
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = s.attname
  JOIN pg_type t ON t.oid = a.atttypid
  CROSS JOIN LATERAL (SELECT CASE WHEN s.n_distinct >= 0 THEN s.n_distinct
                                  ELSE -s.n_distinct * greatest(c.reltuples, 0) END AS estimate) d
  WHERE s.inherited = (c.relkind = 'p') AND NOT c.relispartition
    AND t.typcategory IN ('S', 'E')
    AND (s.most_common_vals IS NOT NULL OR d.estimate <= %(max_distinct)s)
    AND s.schemaname NOT IN ('pg_catalog', 'information_schema') AND s.schemaname NOT LIKE 'pg\\_%'
  ORDER BY d.estimate, s.schemaname, s.tablename, s.attname
  LIMIT %(max_columns)s
) v
"""
for _name, _value in (
    ("per_column", VALUES_PER_COLUMN),
    ("max_distinct", VALUES_MAX_DISTINCT),
    ("max_columns", VALUES_MAX_COLUMNS),
):
    _EXTRAS_SQL = _EXTRAS_SQL.replace(f"%({_name})s", str(int(_value)))


def load_extras(
    conn: psycopg.Connection[Any], *, statement_timeout_ms: int = 30_000
) -> list[tuple[str, str, str, Any]]:
    """Keys, check constraints, policies and indexes of every table, in one rolled-back read-only query.

    Rows ``('r', schema, name, [relkind, populated, root schema, root name])`` also say which relations are
    partitions (and of which root table) and which materialized views were never populated; rows
    ``('e', schema, type, [format_type, labels])`` list enum labels in order, and rows ``('s', schema, table,
    [column, null_frac, distinct estimate, most common values, histogram bounds])`` carry the statistics of
    text-like columns for the value index (pg_stats only, which shows a login just the columns it may SELECT;
    empty until ANALYZE has run).
    """
    with conn.transaction(force_rollback=True):
        conn.execute(
            "SELECT /* dba_admin */ set_config('statement_timeout', %s, true),"
            " set_config('transaction_read_only', 'on', true), set_config('search_path', '', true)",
            (f"{int(statement_timeout_ms)}ms",),
        )
        rows = conn.execute(_EXTRAS_SQL).fetchall()
    return [(kind, schema, name, json.loads(payload)) for kind, schema, name, payload in rows]


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------

# Field weights: a word in the table's name says more than one in a column name, which says more than
# one in a comment. Concept (synonym) matches count a little less than the word itself.
W_TABLE_NAME = 3.0
W_TABLE_COMMENT = 1.0
W_COLUMN_NAME = 1.3
W_COLUMN_COMMENT = 0.45
CONCEPT_FACTOR = 0.85
SECOND_KEY_FACTOR = 0.9  # the Portuguese stem: a looser match than the term itself
RELATED_FACTOR = 0.4  # a related concept (revenue -> payment) says less than a synonym
PREFIX_FACTOR = 0.5
PREFIX_LEN = 5
NEIGHBOUR_SHARE = 0.2
EXPLICIT_NAME_BONUS = 4.0
# Views repeat the words of the tables they read (customer_list, film_list...): a base table wins a tie,
# a view wins only when it matches clearly better ("sales by store" names the view sales_by_store).
VIEW_FACTOR = 0.75
UNPOPULATED_FACTOR = 0.3  # a materialized view never refreshed cannot be read: known, but last
TABLE_PHRASE_BONUS = 6.0  # "the invoice table", "a tabela de faturas": the named table first
# "number of rentals" asks for a count, not for a column called number.
_COUNT_PHRASES = re.compile(r"\b(?:the\s+)?(?:number|numero|número|quantidade|qtd)\s+(?:of|de|do|da|dos|das)\b", re.I)


def _bounded_values(
    stats: Sequence[tuple[str, str, float, Sequence[str]]], tables: Mapping[str, IndexedTable]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Values worth indexing from the statistics rows: columns with the fewest distinct values first, short
    values with a letter only, at most :data:`VALUES_PER_COLUMN` per column and :data:`VALUES_MAX_TOTAL` in all."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    total = 0
    for table, column, _estimate, values in sorted(stats, key=lambda r: (r[2], r[0], r[1])):
        if table not in tables or total >= VALUES_MAX_TOTAL:
            continue
        kept = [
            v
            for v in dict.fromkeys(values)
            if isinstance(v, str) and 0 < len(v) <= VALUE_MAX_CHARS and any(ch.isalpha() for ch in v)
        ][: min(VALUES_PER_COLUMN, VALUES_MAX_TOTAL - total)]
        if kept:
            out[(table, column)] = tuple(kept)
            total += len(kept)
    return out


class _ValueIndex:
    """Postings from the terms, Portuguese stems and concepts of column values to (value, term slot, weight).

    Built on the first :meth:`SchemaIndex.values_for` call, so an index nobody asks values of costs nothing.
    """

    def __init__(self, entries: Iterable[tuple[str, str, str, str]]) -> None:
        self.values: list[tuple[str, str, str, str, int]] = []  # table, column, value, source, number of terms
        self.folded: dict[str, list[int]] = {}  # the folded value -> value numbers (exact phrase matches)
        self.postings: dict[str, list[tuple[int, int, float]]] = {}
        for table, column, value, source in entries:
            analysed = [(t, a) for t, a in analyse(value) if not t.isdigit()]
            if not analysed:
                continue
            number = len(self.values)
            # Every word of three letters or more counts in the share a question must name, stop words and
            # numbers included: "Banco do Brasil S.A." is not "Brasil", "MED-00001" is not "med".
            size = max(len(analysed), sum(1 for w in words(value) if len(w) >= 3))
            self.values.append((table, column, value, source, size))
            self.folded.setdefault(" ".join(words(value)), []).append(number)
            for slot, (term, alt) in enumerate(analysed):
                keys = {term: 1.0}
                if alt is not None and len(alt) >= 4:
                    keys.setdefault(alt, VALUE_STEM_FACTOR)
                for concept in concepts_of(term, alt):
                    keys.setdefault("~" + concept, VALUE_CONCEPT_FACTOR)
                for key, weight in keys.items():
                    self.postings.setdefault(key, []).append((number, slot, weight))


SEARCH_CACHE_SIZE = 128  # questions (the planner and the assistant ask the same one several times)
WORD_CACHE_SIZE = 20_000


def _reason_text(reason: Any) -> str:
    """A reason as shown: strings as they are, a posting match as "column email matches 'mail≈email'"."""
    if isinstance(reason, str):
        return reason
    field_label, column, label = reason
    where = f"{field_label} {column}" if column and field_label.startswith("column") else field_label
    return f"{where} matches '{label}'"


_TABLE_WORDS = frozenset({"table", "tables", "tabela", "tabelas", "view", "views", "visao", "relation"})
_PHRASE_LINKS = frozenset({"de", "da", "do", "das", "dos", "of", "named", "called", "chamada", "chamado"})
_PHRASE_MAX_WORDS = 3


def _table_phrases(question: str) -> list[tuple[tuple[str, ...], str]]:
    """The words that name a table next to "table"/"tabela", each with its head noun: the last word before it
    ("the meter readings table" -> readings) or the first after it ("a tabela de faturas" -> faturas)."""
    ws = words(question)
    out: list[tuple[tuple[str, ...], str]] = []
    for i, w in enumerate(ws):
        if w not in _TABLE_WORDS:
            continue
        before: list[str] = []
        for other in reversed(ws[max(0, i - _PHRASE_MAX_WORDS) : i]):
            if other in STOP_WORDS or other in _TABLE_WORDS:
                break
            before.insert(0, other)
        if before:
            out.append((tuple(before), before[-1]))
        after: list[str] = []
        j = i + 1
        while j < len(ws) and ws[j] in _PHRASE_LINKS:
            j += 1
        for other in ws[j:]:
            if other in _PHRASE_LINKS:  # "tabela de itens de fatura"
                continue
            if other in STOP_WORDS or other in _TABLE_WORDS or len(after) == _PHRASE_MAX_WORDS:
                break
            after.append(other)
        if after:
            out.append((tuple(after), after[0]))
    return out


# Posting: table number -> (weight, field label, column or None)
_Posting = dict[int, tuple[float, str, str | None]]


class SchemaIndex:
    """An in-memory, immutable index over the tables of a database.

    ``tables`` are what retrieval ranks; ``partitions`` are known (for plans that name them and for their
    indexes) but never ranked: each stands for its root table (:attr:`IndexedTable.partition_of`).
    """

    def __init__(
        self,
        tables: Sequence[IndexedTable],
        *,
        partitions: Sequence[IndexedTable] = (),
        enums: Mapping[str, Sequence[str]] | None = None,
        column_values: Mapping[tuple[str, str], Sequence[str]] | None = None,
    ) -> None:
        self.tables: list[IndexedTable] = list(tables)
        # Enum type -> labels in order, under the name format_type prints (schema-qualified, quoted when needed),
        # "schema.type" and the bare type name (the public one, else the first).
        self.enums: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in (enums or {}).items()}
        # (qualified table, column) -> values seen by ANALYZE (pg_stats), most common first.
        self.column_values: dict[tuple[str, str], tuple[str, ...]] = {
            k: tuple(v) for k, v in (column_values or {}).items()
        }
        self._value_index: _ValueIndex | None = None
        self._names: list[str] = [t.qualified_name for t in self.tables]
        self._search_cache: dict[tuple[str, int, tuple[str, ...], bool], tuple[TableMatch, ...]] = {}
        self._word_cache: dict[tuple[str, str | None], Any] = {}
        self.by_name: dict[str, IndexedTable] = {t.qualified_name: t for t in self.tables}
        self.partitions: dict[str, IndexedTable] = {p.qualified_name: p for p in partitions}
        self._number: dict[str, int] = {t.qualified_name: i for i, t in enumerate(self.tables)}
        self._by_short: dict[str, list[IndexedTable]] = {}
        for t in self.tables:
            self._by_short.setdefault(t.name.lower(), []).append(t)
        self._postings: dict[str, _Posting] = {}
        self._name_terms: list[tuple[str, ...]] = []
        self._prefixes: dict[str, set[str]] = {}
        for i, t in enumerate(self.tables):
            self._index_table(i, t)
        n = max(1, len(self.tables))
        self._idf = {key: math.log(1.0 + n / len(posting)) for key, posting in self._postings.items()}
        self._neighbours: dict[str, list[tuple[str, ForeignKeyEdge]]] = {}
        for t in self.tables:
            for fk in t.fks_out:
                if fk.ref_table in self.by_name:
                    self._neighbours.setdefault(t.qualified_name, []).append((fk.ref_table, fk))
                    self._neighbours.setdefault(fk.ref_table, []).append((t.qualified_name, fk))
        # Ties between paths of one length go through many-to-one keys first, the first declared column first
        # (rental -> inventory -> store before rental -> customer -> store: the row's first foreign key is the
        # thing it is about), then by name for determinism.
        position = {(t.qualified_name, c.name): k for t in self.tables for k, c in enumerate(t.columns)}

        def tie_break(source: str, edge: tuple[str, ForeignKeyEdge]) -> tuple[bool, int, str, str]:
            other, fk = edge
            outgoing = fk.table == source
            return (not outgoing, position.get((fk.table, fk.columns[0]), 1_000) if outgoing else 0, other, fk.name)

        for source, edges in self._neighbours.items():
            edges.sort(key=functools.partial(tie_break, source))

    # -- building -----------------------------------------------------------------------------------

    @classmethod
    def from_catalog(
        cls,
        tables: Iterable[TableInfo],
        extras: Iterable[tuple[str, str, str, Any]] = (),
        *,
        include_system: bool = False,
        include_app_objects: bool | None = None,
    ) -> SchemaIndex:
        """From ``catalog.list_tables`` and :func:`load_extras` rows (system-like schemas left out).

        The app's own objects (:data:`catalog.APP_SCHEMAS`, :data:`catalog.APP_TABLES`) are left out when the
        catalog holds the app's schema (this database is the workspace), unless ``include_app_objects``;
        ``include_app_objects=False`` leaves them out whatever the catalog holds.

        Partitions are not ranked: foreign keys declared on a partition are the root table's (one edge per
        distinct key, whichever partitions declare it), a key referencing a partition references its root,
        and a root without statistics of its own counts its partitions' rows and bytes.
        """
        all_tables = list(tables)
        extra_rows = list(extras)
        if include_app_objects is None:
            include_app_objects = not any(t.schema in APP_SCHEMAS for t in all_tables)

        root_of: dict[str, str] = {}
        unpopulated: set[str] = set()
        enums: dict[str, tuple[str, ...]] = {}
        stats: list[tuple[str, str, float, list[str]]] = []  # table, column, distinct estimate, values
        for kind, schema, name, payload in extra_rows:
            if kind == "e":
                shown, labels = payload
                for key in (shown, f"{schema}.{name}", f'"{schema}"."{name}"'):
                    enums.setdefault(key, tuple(labels))
                if name not in enums or schema == "public":
                    enums[name] = tuple(labels)
                continue
            if kind == "s":
                column, _null_frac, estimate, common, bounds = payload
                stats.append((f"{schema}.{name}", column, float(estimate or 0), [*(common or ()), *(bounds or ())]))
                continue
            if kind != "r":
                continue
            relkind, populated, root_schema, root_name = payload
            qn = f"{schema}.{name}"
            if root_schema is not None and root_name is not None:
                root_of[qn] = f"{root_schema}.{root_name}"
            if relkind == "m" and populated is False:
                unpopulated.add(qn)

        indexed: dict[str, IndexedTable] = {}
        parts: dict[str, IndexedTable] = {}
        for t in all_tables:
            if not include_system and (t.is_system_like or t.schema in SYSTEM_LIKE_SCHEMAS):
                continue
            if not include_app_objects and is_app_object(t.schema, t.name):
                continue
            (parts if t.is_partition else indexed)[t.qualified_name] = IndexedTable(
                schema=t.schema,
                name=t.name,
                kind=t.kind,
                comment=t.comment,
                columns=t.columns,
                estimated_rows=t.estimated_rows,
                total_bytes=t.total_bytes,
                rls_enabled=t.rls_enabled,
                populated=t.qualified_name not in unpopulated,
                partition_of=root_of.get(t.qualified_name) if t.is_partition else None,
            )

        def owner(qn: str) -> str:
            """The relation that stands for ``qn`` in joins: its root table when it is a partition."""
            return root_of.get(qn, qn)

        uniques: dict[str, list[tuple[str, ...]]] = {}
        checks: dict[str, list[str]] = {}
        policies: dict[str, list[tuple[str, str, str | None]]] = {}
        indexes: dict[str, list[tuple[str, bool, tuple[str, ...]]]] = {}
        # (table, columns, ref table, ref columns) -> constraint names and the partitions that declare it
        edges: dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], tuple[list[str], list[str]]] = {}
        commands = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
        for kind, schema, name, payload in extra_rows:
            qn = f"{schema}.{name}"
            table = indexed.get(qn) or parts.get(qn)
            if table is None:
                continue
            if kind == "k":
                contype, conname, cols, ref_schema, ref_name, ref_cols, check_def = payload
                if contype == "p":
                    table.primary_key = tuple(cols)
                elif contype == "u":
                    uniques.setdefault(qn, []).append(tuple(cols))
                elif contype == "c" and check_def:
                    checks.setdefault(qn, []).append(str(check_def))
                elif contype == "f":
                    key = (owner(qn), tuple(cols), owner(f"{ref_schema}.{ref_name}"), tuple(ref_cols))
                    names, declared = edges.setdefault(key, ([], []))
                    names.append(conname)
                    if qn in parts:
                        declared.append(qn)
            elif kind == "p":
                polname, cmd, using = payload
                policies.setdefault(qn, []).append((polname, commands.get(cmd, cmd), using))
            elif kind == "i":
                iname, unique, cols = payload
                indexes.setdefault(qn, []).append((iname, bool(unique), tuple(cols)))
        for (src, cols, ref, ref_cols), (names, declared) in sorted(edges.items()):
            source = indexed.get(src)
            if source is None:
                continue
            edge = ForeignKeyEdge(min(names), src, cols, ref, ref_cols, tuple(sorted(declared)))
            source.fks_out.append(edge)
            target = indexed.get(ref)
            if target is not None:
                target.fks_in.append(edge)
        children: dict[str, list[IndexedTable]] = {}
        for part in parts.values():
            if part.partition_of is not None:
                children.setdefault(part.partition_of, []).append(part)
        for qn, table in [*indexed.items(), *parts.items()]:
            table.unique_keys = tuple(uniques.get(qn, ()))
            table.checks = tuple(sorted(checks.get(qn, ())))
            table.policies = tuple(sorted(policies.get(qn, ())))
            table.indexes = tuple(sorted(indexes.get(qn, ())))
            table.fks_out.sort(key=lambda e: e.name)
            table.fks_in.sort(key=lambda e: (e.table, e.name))
        for qn, kids in children.items():
            root = indexed.get(qn)
            if root is None:
                continue
            root.partitions = tuple(sorted(k.qualified_name for k in kids))
            counted = [k.estimated_rows for k in kids if k.estimated_rows is not None]
            if not root.estimated_rows and counted:
                root.estimated_rows = sum(counted)
            if not root.total_bytes:
                root.total_bytes = sum(k.total_bytes for k in kids)
        return cls(
            list(indexed.values()),
            partitions=list(parts.values()),
            enums=enums,
            column_values=_bounded_values(stats, indexed),
        )

    @classmethod
    def from_connection(
        cls,
        conn: psycopg.Connection[Any],
        *,
        statement_timeout_ms: int = 30_000,
        exclude_app_objects: bool = False,
        include_app_objects: bool = False,
    ) -> SchemaIndex:
        """Two catalog round trips (plus transaction bookkeeping) whatever the number of tables.

        The app's own tables are left out when ``exclude_app_objects`` (the connection is the workspace
        database) or when the catalog shows the app's schema, unless ``include_app_objects`` (asked for).
        """
        from dba_admin import catalog

        tables = catalog.list_tables(
            conn,
            statement_timeout_ms=statement_timeout_ms,
            exclude_app_objects=exclude_app_objects and not include_app_objects,
        )
        return cls.from_catalog(
            tables,
            load_extras(conn, statement_timeout_ms=statement_timeout_ms),
            include_app_objects=True if include_app_objects else None,
        )

    def _add(self, key: str, number: int, weight: float, label: str, column: str | None) -> None:
        posting = self._postings.setdefault(key, {})
        current = posting.get(number)
        if current is None or current[0] < weight:
            posting[number] = (weight, label, column)

    def _add_terms(self, number: int, text: str | None, weight: float, label: str, column: str | None) -> None:
        if not text:
            return
        for term, alt in analyse(text[:COMMENT_INDEX_CHARS]):  # a 1 MB comment is not worth indexing whole
            self._add(term, number, weight, label, column)
            if alt is not None:
                self._add(alt, number, weight * SECOND_KEY_FACTOR, label, column)
            if len(term) >= PREFIX_LEN:
                self._prefixes.setdefault(term[:PREFIX_LEN], set()).add(term)
            for concept in concepts_of(term, alt):
                self._add("~" + concept, number, weight * CONCEPT_FACTOR, label, column)

    def _index_table(self, number: int, table: IndexedTable) -> None:
        self._name_terms.append(tuple(terms(table.name)))
        self._add_terms(number, table.name, W_TABLE_NAME, "name", None)
        self._add_terms(number, table.comment, W_TABLE_COMMENT, "comment", None)
        for col in table.columns:
            self._add_terms(number, col.name, W_COLUMN_NAME, "column", col.name)
            self._add_terms(number, col.comment, W_COLUMN_COMMENT, "column comment", col.name)

    # -- lookup -------------------------------------------------------------------------------------

    def get(self, name: str) -> IndexedTable | None:
        """A table by qualified or bare name (bare names: the public one, else the only one)."""
        if name in self.by_name:
            return self.by_name[name]
        cleaned = name.strip().strip('"')
        if "." in cleaned:
            schema, _, bare = cleaned.partition(".")
            return self.by_name.get(f"{schema.strip(chr(34))}.{bare.strip(chr(34))}")
        candidates = self._by_short.get(cleaned.lower(), [])
        for t in candidates:
            if t.schema == "public":
                return t
        return candidates[0] if candidates else None

    def neighbours(self, qualified: str) -> list[str]:
        return [n for n, _ in self._neighbours.get(qualified, [])]

    def degree(self, qualified: str) -> int:
        return len(self._neighbours.get(qualified, []))

    def partition(self, name: str) -> IndexedTable | None:
        """A partition by qualified or bare name (plans name partitions; the index ranks their root)."""
        found = self.partitions.get(name)
        if found is not None or "." in name:
            return found
        same = [p for p in self.partitions.values() if p.name == name]
        return next((p for p in same if p.schema == "public"), same[0] if same else None)

    def owner_of(self, name: str) -> IndexedTable | None:
        """The table that stands for ``name``: itself, or the root table of a partition."""
        table = self.get(name)
        if table is not None:
            return table
        part = self.partition(name)
        return self.by_name.get(part.partition_of) if part is not None and part.partition_of else None

    # -- values -------------------------------------------------------------------------------------

    def enum_labels(self, type_name: str) -> tuple[str, ...]:
        """Labels of an enum type in order (``()`` when ``type_name`` is not an enum), however it is written."""
        bare = type_name.replace('"', "")
        for key in (type_name, bare, bare.rpartition(".")[2]):
            if key in self.enums:
                return self.enums[key]
        return ()

    def _values(self) -> _ValueIndex:
        if self._value_index is None:
            entries: list[tuple[str, str, str, str]] = []
            enum_columns: set[tuple[str, str]] = set()
            for t in self.tables:
                for col in t.columns:
                    labels = self.enum_labels(col.type) if col.type in self.enums or "." in col.type else ()
                    if labels:
                        enum_columns.add((t.qualified_name, col.name))
                        entries += [(t.qualified_name, col.name, label, "enum") for label in labels]
            for (table, column), values in self.column_values.items():
                if (table, column) not in enum_columns:
                    entries += [(table, column, value, "stats") for value in values]
            self._value_index = _ValueIndex(entries)
        return self._value_index

    def values_for(
        self,
        words_or_phrase: str | Sequence[str],
        *,
        tables: Iterable[str] | None = None,
        limit: int = 20,
        min_score: float = 0.5,
    ) -> list[ValueMatch]:
        """Column values the question names, best first: "Brazil" in customer.country, "Rock" in genre.name,
        "crítica" in an enum column from "critical" (stems of both languages and the bilingual vocabulary).

        Values come from enum types (always) and from ``pg_stats`` (most common values, and the histogram of
        columns with at most :data:`VALUES_MAX_DISTINCT` distinct values): never from the tables themselves, so
        a column is known here only once ANALYZE (or autovacuum) has run on its table, and only if the login may
        SELECT it. A value scores the share of its words the question names (1.0: all of them, or the phrase is
        the value); the caller decides which matches to trust and removes words it uses otherwise ("média" as
        "average"). ``tables`` (qualified names) keeps the values of those tables only.
        """
        wanted = set(tables) if tables is not None else None
        phrase = words_or_phrase if isinstance(words_or_phrase, str) else " ".join(words_or_phrase)
        vi = self._values()
        if not vi.values:
            return []
        matched: dict[int, dict[int, float]] = {}
        for q, alt in analyse(phrase):
            if q.isdigit():
                continue
            keys: dict[str, float] = {q: 1.0}
            if alt is not None and len(alt) >= 4:
                keys.setdefault(alt, VALUE_STEM_FACTOR)
            for concept in concepts_of(q, alt):
                keys.setdefault("~" + concept, VALUE_CONCEPT_FACTOR)
            for key, factor in keys.items():
                for number, slot, weight in vi.postings.get(key, ()):
                    if wanted is not None and vi.values[number][0] not in wanted:
                        continue
                    # a concept matched from both sides counts once at the concept's weight
                    value = factor * weight if not key.startswith("~") else VALUE_CONCEPT_FACTOR
                    slots = matched.setdefault(number, {})
                    if slots.get(slot, 0.0) < value:
                        slots[slot] = value
        scores = {number: sum(slots.values()) / vi.values[number][4] for number, slots in matched.items()}
        for number in vi.folded.get(" ".join(words(phrase)), ()):
            if wanted is None or vi.values[number][0] in wanted:
                scores[number] = 1.0
        ranked = sorted(
            (n for n, sc in scores.items() if sc >= min_score),
            key=lambda n: (-scores[n], vi.values[n][0], vi.values[n][1], vi.values[n][2]),
        )[:limit]
        return [
            ValueMatch(
                vi.values[n][0], vi.values[n][1], vi.values[n][2], round(min(1.0, scores[n]), 4), vi.values[n][3]
            )
            for n in ranked
        ]

    # -- retrieval ----------------------------------------------------------------------------------

    def search(
        self,
        question: str,
        *,
        limit: int = 10,
        history_tables: Sequence[str] = (),
        neighbours: bool = True,
    ) -> list[TableMatch]:
        """Tables ranked for ``question``, best first, with why each matched.

        ``history_tables`` are the context tables of earlier turns, most recent first: they get a share
        of the best score, so a follow-up without table words ("and only the cancelled ones?") stays on
        the same tables, while a question that names new tables moves on.
        """
        cache_key = (question, limit, tuple(history_tables), neighbours)
        cached = self._search_cache.get(cache_key)
        if cached is not None:
            return list(cached)
        found = self._search(question, limit=limit, history_tables=history_tables, neighbours=neighbours)
        if len(self._search_cache) >= SEARCH_CACHE_SIZE:
            self._search_cache.pop(next(iter(self._search_cache)))
        self._search_cache[cache_key] = tuple(found)
        return found

    def _word_keys(
        self, q: str, alt: str | None
    ) -> tuple[tuple[tuple[str, float, str], ...], tuple[str, ...], tuple[str, ...]]:
        """(posting keys with their factor and label, concepts, related concepts) of one question word, cached:
        the same words come back question after question."""
        cached = self._word_cache.get((q, alt))
        if cached is not None:
            return cached
        keys: list[tuple[str, float, str]] = [(q, 1.0, q)]
        if alt is not None:
            keys.append((alt, SECOND_KEY_FACTOR, f"{q}~{alt}"))
        concepts = concepts_of(q, alt)
        for concept in concepts:
            keys.append(("~" + concept, CONCEPT_FACTOR, f"{q}≈{concept}"))
        related_all = tuple(dict.fromkeys(r for c in concepts for r in RELATED_CONCEPTS.get(c, ())))
        for related in related_all:
            if related not in concepts:
                keys.append(("~" + related, RELATED_FACTOR, f"{q}→{related}"))
        if len(q) >= PREFIX_LEN and q not in self._postings and (alt is None or alt not in self._postings):
            keys.extend(
                (other, PREFIX_FACTOR, f"{q}~{other}")
                for other in sorted(self._prefixes.get(q[:PREFIX_LEN], ()))
                if other != q
            )
        found = (tuple(k for k in keys if k[0] in self._postings), concepts, related_all)
        if len(self._word_cache) < WORD_CACHE_SIZE:
            self._word_cache[(q, alt)] = found
        return found

    def _search(
        self,
        question: str,
        *,
        limit: int,
        history_tables: Sequence[str],
        neighbours: bool,
    ) -> list[TableMatch]:
        analysed = list(dict(analyse(_COUNT_PHRASES.sub(" ", question))).items())
        q_terms = [q for q, _alt in analysed]
        scores: dict[int, float] = {}
        # a reason is a string, or (field label, column, matched label) formatted only for the tables returned
        reasons: dict[int, list[Any]] = {}
        matched_columns: dict[int, dict[str, float]] = {}
        matched_terms: dict[int, list[str]] = {}
        q_concepts: set[str] = set(q_terms)
        q_related: set[str] = set()
        for q, alt in analysed:
            best: dict[int, tuple[float, str, str | None, str]] = {}
            keys, concepts, related_all = self._word_keys(q, alt)
            q_concepts.update(concepts)
            q_related.update(related_all)
            for key, factor, label in keys:
                posting = self._postings[key]
                scale = factor * self._idf[key]
                for number, (weight, field_label, column) in posting.items():
                    value = weight * scale
                    current = best.get(number)
                    if current is None or current[0] < value:
                        best[number] = (value, field_label, column, label)
                    if column is not None:
                        cols = matched_columns.get(number)
                        if cols is None:
                            matched_columns[number] = {column: value}
                        else:
                            cols[column] = cols.get(column, 0.0) + value
            for number, (value, field_label, column, label) in best.items():
                scores[number] = scores.get(number, 0.0) + value
                reasons.setdefault(number, []).append((field_label, column, label))
                matched_terms.setdefault(number, []).append(q)

        # Tables named in the question ("order_items", "appointment reminders", "itens do pedido").
        q_set = set(q_terms) | {alt for _q, alt in analysed if alt}
        for number in list(scores):
            name_terms = self._name_terms[number]
            if not name_terms:
                continue
            if set(name_terms) <= q_set:
                scores[number] += EXPLICIT_NAME_BONUS * len(set(name_terms))
                reasons[number].insert(0, "named in the question")
                continue
            # Each word of the name is in the question, or a synonym of one (full weight), or a concept
            # related to one (RELATED_FACTOR): "clientes" names customers fully and user_profiles partly.
            weights = []
            for t in dict.fromkeys(name_terms):
                name_concepts = {t, *concepts_of(t)}
                if t in q_set or name_concepts & q_concepts:
                    weights.append(1.0)
                elif name_concepts & q_related:
                    weights.append(RELATED_FACTOR)
                else:
                    break
            else:
                # A name that only adds related words ("playlist_track" for "track") stays below the table
                # the question names exactly ("track").
                scores[number] += EXPLICIT_NAME_BONUS * sum(weights) * min(weights)
                what = "a synonym" if min(weights) == 1.0 else "related to"
                reasons[number].insert(0, f"its name is {what} words in the question")

        # "the meter readings table", "a tabela de faturas": the table the phrase names comes first.
        for phrase, head in _table_phrases(question):
            self._phrase_bonus(phrase, head, scores, reasons)

        # Base tables before views that repeat their words; an unreadable materialized view last.
        for number in list(scores):
            table = self.tables[number]
            if table.kind in ("view", "materialized_view"):
                scores[number] *= VIEW_FACTOR
            if not table.populated:
                scores[number] *= UNPOPULATED_FACTOR
                reasons[number].append("materialized view not populated (cannot be read until refreshed)")

        base = dict(scores)
        top = max(base.values(), default=0.0)
        if neighbours and base:
            strong = sorted(base, key=lambda k: -base[k])[:8]
            for number in strong:
                share = NEIGHBOUR_SHARE * base[number]
                src = self.tables[number].qualified_name
                for other, _fk in self._neighbours.get(src, []):
                    j = self._number[other]
                    if j == number:
                        continue
                    if base.get(j, 0.0) < share and scores.get(j, 0.0) < base.get(j, 0.0) + share:
                        scores[j] = base.get(j, 0.0) + share
                        reasons.setdefault(j, []).append(f"foreign-key neighbour of {src}")
        for k, name in enumerate(history_tables):
            j_opt = self._number.get(name)
            if j_opt is None:
                continue
            bonus = max(1.0, 0.25 * top) * (0.7**k)
            scores[j_opt] = scores.get(j_opt, 0.0) + bonus
            reasons.setdefault(j_opt, []).append("used earlier in this conversation")

        names = self._names
        ranked = sorted(scores, key=lambda j: (-scores[j], names[j]))[:limit]
        out = []
        for j in ranked:
            cols = matched_columns.get(j, {})
            out.append(
                TableMatch(
                    table=self.tables[j],
                    score=round(scores[j], 4),
                    reasons=tuple(dict.fromkeys(_reason_text(r) for r in reasons.get(j, []))),
                    columns=tuple(sorted(cols, key=lambda c: -cols[c])[:5]),
                    matched_terms=tuple(matched_terms.get(j, ())),
                    question_terms=len(q_terms),
                )
            )
        return out

    def _phrase_bonus(
        self, phrase: Sequence[str], head: str, scores: dict[int, float], reasons: dict[int, list[Any]]
    ) -> None:
        """Add :data:`TABLE_PHRASE_BONUS` to the tables whose name the phrase spells entirely (each word of the
        name is a word of the phrase, its Portuguese stem or a synonym), more when the phrase's head noun is one
        of them ("readings" in "meter readings", "faturas" in "tabela de faturas de energia")."""
        keys: list[set[str]] = []
        for w in phrase:
            term, alt = _analyse(w)
            keys.append({term, *([alt] if alt else []), *concepts_of(term, alt)})
        head_term, head_alt = _analyse(head)
        head_keys = {head_term, *([head_alt] if head_alt else []), *concepts_of(head_term, head_alt)}
        all_keys = set().union(*keys) if keys else set()
        for number in list(scores):
            name_terms = self._name_terms[number]
            if not name_terms:
                continue
            matched: list[set[str]] = []
            for t in dict.fromkeys(name_terms):
                own = self._name_keys(t)
                if not own & all_keys:
                    break
                matched.append(own)
            else:
                covered = sum(1 for k in keys if any(k & own for own in matched))
                bonus = TABLE_PHRASE_BONUS * covered / max(1, len(keys))
                if any(own & head_keys for own in matched):
                    bonus += TABLE_PHRASE_BONUS
                scores[number] += bonus
                reasons[number].insert(0, "the question names this table")

    @staticmethod
    @functools.lru_cache(maxsize=50_000)
    def _name_keys(term: str) -> set[str]:
        return {term, *concepts_of(term)}

    def resolve(self, phrase: str) -> IndexedTable | None:
        """The single table a short phrase names ("pets", "itens do pedido", "public.orders")."""
        direct = self.get(phrase.strip())
        if direct is not None:
            return direct
        snake = "_".join(words(phrase))
        direct = self.get(snake)
        if direct is not None:
            return direct
        matches = self.search(phrase, limit=1, neighbours=False)
        return matches[0].table if matches else None

    # -- joins ---------------------------------------------------------------------------------------

    def join_path(self, source: str, target: str) -> JoinPath | None:
        """Shortest foreign-key path. Among paths of that length, one that never steps up to a table and back
        down to a sibling wins (crew -> flight_crew -> flights, the roster, rather than crew -> airports <- flights,
        a shared airport); then the first in neighbour order (many-to-one keys first, the first declared column
        first, then by name)."""
        if source not in self.by_name or target not in self.by_name:
            return None
        if source == target:
            return JoinPath((source,), ())
        depth = {source: 0}
        parents: dict[str, list[tuple[str, ForeignKeyEdge]]] = {}
        frontier = [source]
        while frontier and target not in depth:
            reached: list[str] = []
            for current in frontier:
                for other, fk in self._neighbours.get(current, []):
                    if other not in depth:
                        depth[other] = depth[current] + 1
                        reached.append(other)
                    if depth[other] == depth[current] + 1:
                        parents.setdefault(other, []).append((current, fk))
            frontier = reached
        if target not in depth:
            return None
        paths: list[tuple[tuple[str, ...], tuple[ForeignKeyEdge, ...]]] = []

        def walk(node: str, chain: list[str], edges: list[ForeignKeyEdge]) -> None:
            if len(paths) >= _MAX_JOIN_PATHS:
                return
            if node == source:
                paths.append((tuple(reversed(chain)), tuple(reversed(edges))))
                return
            for parent, fk in parents.get(node, []):
                walk(parent, [*chain, parent], [*edges, fk])

        walk(target, [target], [])
        chain, edges = min(paths, key=_sibling_steps)
        return JoinPath(chain, edges)

    def join_glue(self, tables: Sequence[str], max_path: int = 6) -> list[str]:
        """The tables between each pair of ``tables`` on their join path (paths of at most ``max_path`` tables),
        so that the context holds what a JOIN between them needs."""
        glue: list[str] = []
        for i in range(len(tables)):
            for j in range(i + 1, len(tables)):
                path = self.join_path(tables[i], tables[j])
                if path is not None and len(path.tables) <= max_path:
                    glue += list(path.tables[1:-1])
        return glue

    # -- rendering -----------------------------------------------------------------------------------

    def render(
        self,
        tables: Sequence[str],
        budget_tokens: int,
        *,
        samples: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        full_detail: int = 6,
        compact_detail: int = 25,
    ) -> RenderedContext:
        """Compact DDL for ``tables`` (most relevant first) within ``budget_tokens``.

        Each table is rendered at the richest level that fits: full (comments, checks, policies), compact
        (columns, types, keys) or names only; when not even the names fit, the remaining tables are
        counted in ``omitted`` and a one-line note says so (the note is inside the budget too).
        """
        budget = max(0, int(budget_tokens))
        chunks: list[str] = []
        used = 0
        rendered: list[str] = []
        omitted = 0
        # Tokens kept for the "N more tables" note: as long as the longest note, so it always fits.
        note_reserve = estimate_tokens(_OMITTED_NOTE.format(n=10 ** len(str(len(tables)))) + "\n")
        for rank, name in enumerate(tables):
            table = self.by_name.get(name)
            if table is None:
                continue
            levels = [2, 1, 0] if rank < full_detail else ([1, 0] if rank < compact_detail else [0])
            placed = False
            for level in levels:
                text = render_table(table, level, samples=(samples or {}).get(name))
                cost = estimate_tokens(text + "\n")
                if used + cost + note_reserve <= budget:
                    chunks.append(text)
                    used += cost
                    rendered.append(name)
                    placed = True
                    break
            if not placed:
                omitted += 1
        if omitted:
            note = _OMITTED_NOTE.format(n=omitted)
            if used + estimate_tokens(note + "\n") <= budget:
                chunks.append(note)
        text = "\n".join(chunks)
        return RenderedContext(text, tuple(rendered), estimate_tokens(text), budget, omitted)


# Comments are written by whoever owns a table: capped, and quoted as data (JSON string, < and > escaped) so
# that no comment reads as the prompt's own text or closes the block the schema is fenced in.
COMMENT_MAX_CHARS = 300
COMMENT_INDEX_CHARS = 4000


def quote_comment(text: str | None, limit: int = COMMENT_MAX_CHARS) -> str:
    """A catalog comment as a quoted, escaped, one-line string of at most ``limit`` characters ("" if none)."""
    short = _short(text, min(limit, COMMENT_MAX_CHARS))
    if not short:
        return ""
    return json.dumps(short, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


_OMITTED_NOTE = "-- {n} more relevant table(s) not shown (budget); ask about them by name."
_NOT_POPULATED = "materialized view NOT POPULATED: reading it fails until REFRESH MATERIALIZED VIEW; do not query it"


def _short(text: str | None, limit: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL would need it (for display in DDL-like context)."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


# Reserved words that must be quoted as column names (the demo has a column called "timestamp").
_RESERVED = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column constraint
    create current_catalog current_date current_role current_time current_timestamp current_user default
    deferrable desc distinct do else end except false fetch for foreign from grant group having in
    initially intersect into lateral leading limit localtime localtimestamp not null offset on only or
    order placing primary references returning select session_user some symmetric table then to trailing
    true union unique user using variadic when where window with authorization binary collation
    concurrently cross freeze full ilike inner is isnull join left like natural notnull outer overlaps
    right similar tablesample verbose timestamp""".split()  # noqa: SIM905
)


def qualified_ident(qualified: str) -> str:
    schema, _, name = qualified.partition(".")
    return f"{_ident(schema)}.{_ident(name)}"


def render_table(table: IndexedTable, level: int, *, samples: Mapping[str, Sequence[str]] | None = None) -> str:
    """One table as DDL-like text. level 2 = full, 1 = compact, 0 = column names only."""
    qn = qualified_ident(table.qualified_name)
    if level <= 0:
        names = [_ident(c) for c in table.column_names]
        shown = names[:30]
        extra = f", …+{len(names) - 30}" if len(names) > 30 else ""
        flag = f" -- {_NOT_POPULATED}" if not table.populated else ""
        return f"{qn}({', '.join(shown)}{extra}){flag}"
    fk_by_col: dict[str, str] = {}
    for fk in table.fks_out:
        if len(fk.columns) == 1:
            fk_by_col[fk.columns[0]] = f"{qualified_ident(fk.ref_table)}({', '.join(map(_ident, fk.ref_columns))})"
    pk = set(table.primary_key) if len(table.primary_key) == 1 else set()
    head_bits = []
    if not table.populated:
        head_bits.append(_NOT_POPULATED)
    elif table.kind != "table":
        head_bits.append(table.kind.replace("_", " "))
    if table.partitions:
        head_bits.append(f"{len(table.partitions)} partitions, query this table")
    if table.estimated_rows is not None:
        head_bits.append(f"~{table.estimated_rows} rows")
    if table.rls_enabled:
        head_bits.append("RLS on")
    comment = quote_comment(table.comment, 220 if level >= 2 else 90)
    header = f"CREATE TABLE {qn} ( -- " + "; ".join([b for b in [comment, ", ".join(head_bits)] if b])
    lines = [header.rstrip(" -")]
    body: list[tuple[str, str]] = []  # (definition, comment): the comma goes before the comment
    for col in table.columns:
        bits = [_ident(col.name), col.type]
        if col.name in pk:
            bits.append("PRIMARY KEY")
        elif not col.nullable:
            bits.append("NOT NULL")
        if col.name in fk_by_col:
            bits.append("REFERENCES " + fk_by_col[col.name])
        line = "  " + " ".join(bits)
        note = ""
        notes: list[str] = []
        if level >= 2 and col.comment:
            notes.append(quote_comment(col.comment, 90))
        if samples and col.name in samples and samples[col.name]:
            notes.append("e.g. " + ", ".join(_short(str(v), 30) for v in list(samples[col.name])[:3]))
        if notes:
            note = "; ".join(notes)
        body.append((line, note))
    if len(table.primary_key) > 1:
        body.append((f"  PRIMARY KEY ({', '.join(map(_ident, table.primary_key))})", ""))
    for fk in table.fks_out:
        if len(fk.columns) > 1:
            body.append(
                (
                    f"  FOREIGN KEY ({', '.join(map(_ident, fk.columns))}) REFERENCES "
                    f"{qualified_ident(fk.ref_table)}({', '.join(map(_ident, fk.ref_columns))})",
                    "",
                )
            )
    if level >= 2:
        for uk in table.unique_keys:
            body.append((f"  UNIQUE ({', '.join(map(_ident, uk))})", ""))
        for chk in table.checks[:6]:
            body.append(("  " + _short(chk, 160), ""))
    for i, (definition, note) in enumerate(body):
        comma = "," if i < len(body) - 1 else ""
        lines.append(definition + comma + (f" -- {note}" if note else ""))
    tail = ");"
    if level >= 2 and table.policies:
        pols = "; ".join(
            f"{name} {cmd}" + (f" USING {_short(using, 80)}" if using else "")
            for name, cmd, using in table.policies[:4]
        )
        tail += f" -- policies: {pols}"
    lines.append(tail)
    return "\n".join(lines)
