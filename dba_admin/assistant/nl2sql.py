"""The analytical query planner: a question and the SchemaIndex in, one SELECT that computes what was asked out.

Why this exists: the offline assistant used to answer "how many rentals per store?" with the best-matching
table's ``count(*)``, an unrelated query that EXPLAIN happily called valid. Here a question is read as a few
roles, each resolved against the catalog only (names, types, comments, foreign keys, CHECK constraints, enums):

* the *subject* (what is counted or listed) and the *group* ("per store", "by rating", "por categoria"),
  tables found by their names (stems and the index's bilingual concepts) or columns of those tables;
* the *measure* (amount, total, price x quantity x (1 - discount) on a line table, or a named numeric
  column) and the aggregate (count / sum / avg / min / max), or a ranking (top N, "com mais ...");
* filters: allowed values of CHECK constraints and enum types, boolean and 0/1 flags, NULL tests
  ("not returned yet"), date ranges ("in 2022", "no mes passado"), column-to-column comparisons;
* anti-joins ("never", "without", "sem", "nao ... nada") as NOT EXISTS along the foreign-key path.

Tables are joined along :meth:`SchemaIndex.join_path`. Each plan says in words what its SQL computes; when a
role cannot be resolved the planner says so (:class:`Unplanned`, with the candidate tables) rather than
guessing. Nothing here names a table or column of any particular schema.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from dba_admin.assistant.schema_index import (
    CONCEPTS,
    ForeignKeyEdge,
    IndexedTable,
    JoinPath,
    SchemaIndex,
    analyse,
    concepts_of,
    fold,
    qualified_ident,
    stem,
    terms,
    words,
)
from dba_admin.catalog import ColumnInfo

__all__ = [
    "QueryPlan",
    "Unplanned",
    "allowed_values",
    "label_columns",
    "mentioned_tables",
    "plan_question",
    "time_column",
]


@dataclass(frozen=True)
class QueryPlan:
    """A SELECT built from the question, with what it computes in both languages."""

    sql: str
    intent: str  # aggregate | top | anti_join | count | list
    tables: tuple[str, ...]
    summary_en: str
    summary_pt: str

    def summary(self, lang: str) -> str:
        return self.summary_pt if lang == "pt" else self.summary_en


@dataclass(frozen=True)
class Unplanned:
    """The question asks for a computation the planner could not build with confidence."""

    reason_en: str
    reason_pt: str
    candidates: tuple[str, ...]

    def reason(self, lang: str) -> str:
        return self.reason_pt if lang == "pt" else self.reason_en


# --------------------------------------------------------------------------------------------------
# Catalog helpers (shared with the offline provider)
# --------------------------------------------------------------------------------------------------

# A varchar column is cast in the definition:
# ``((situacao)::text = ANY ((ARRAY['ativa'::character varying])::text[]))``; the column is the name before the
# cast, never the cast's type.
_CAST = r"\)?(?:::[a-z ]+?(?:\[\])?)?"
_CHECK_VALUES = re.compile(
    r"(?<![:\w])\"?(\w+)\"?" + _CAST + r"\s*=\s*ANY\s*\(\s*\(?\s*ARRAY\s*\[(.*?)\]", re.IGNORECASE
)
_CHECK_IN = re.compile(r"(?<![:\w])\"?(\w+)\"?" + _CAST + r"\s+IN\s*\((.*?)\)", re.IGNORECASE)
_CHECK_EQ = re.compile(r"\(\s*\(?\"?(\w+)\"?" + _CAST + r"\s*=\s*('(?:[^']|'')*')", re.IGNORECASE)


def allowed_values(table: IndexedTable) -> dict[str, list[str]]:
    """Text values a CHECK constraint allows per column (``col IN (...)``, ``col = ANY (ARRAY[...])``)."""
    out: dict[str, list[str]] = {}
    for check in table.checks:
        for regex in (_CHECK_VALUES, _CHECK_IN):
            for match in regex.finditer(check):
                values = re.findall(r"'((?:[^']|'')*)'", match.group(2))
                if values:
                    out.setdefault(match.group(1), []).extend(v.replace("''", "'") for v in values)
        if " OR " in check.upper():
            for match in _CHECK_EQ.finditer(check):
                value = match.group(2)[1:-1].replace("''", "'")
                if value not in out.get(match.group(1), []):
                    out.setdefault(match.group(1), []).append(value)
    return out


_CHECK_NUMBERS = re.compile(
    r"(?<![:\w])\"?(\w+)\"?" + _CAST + r"\s*(?:=\s*ANY\s*\(\s*\(?\s*ARRAY\s*\[|IN\s*\()([^\]]*?)[\])]", re.IGNORECASE
)


def zero_one_columns(table: IndexedTable) -> set[str]:
    """Columns a CHECK limits to 0 and 1 (``active IN (0, 1)``, ``= ANY (ARRAY[0, 1])``): flags stored as numbers."""
    out: set[str] = set()
    for check in table.checks:
        for match in _CHECK_NUMBERS.finditer(check):
            values = {re.sub(r"::\w+|[()\s]", "", v) for v in match.group(2).split(",")}
            if values and values <= {"0", "1"}:
                out.add(match.group(1))
    return out


def fraction_columns(table: IndexedTable) -> set[str]:
    """Numeric columns that hold a fraction: a CHECK caps them at 1 (``discount <= 1``, ``BETWEEN 0 AND 1``), or a
    non-integer column named like a discount or a rate: "10 %" of them is 0.10."""
    out: set[str] = set()
    for check in table.checks:
        for match in re.finditer(r"\"?(\w+)\"?\s*<=?\s*\(?\s*(1(?:\.0+)?|0\.\d+)\b", check):
            out.add(match.group(1))
        for match in re.finditer(r"\"?(\w+)\"?\s+BETWEEN\s+\S+\s+AND\s+\(?\s*1(?:\.0+)?\b", check, re.IGNORECASE):
            out.add(match.group(1))
    for col in table.columns:
        fractional = is_numeric(col.type) and not col.type.startswith(("smallint", "integer", "bigint", "int"))
        if fractional and any(CONCEPTS.get(t) == "discount" for t in terms(col.name)):
            out.add(col.name)
    return out


def enum_values(index: SchemaIndex, type_name: str) -> tuple[str, ...]:
    """Labels of an enum type, when the index carries them (``SchemaIndex.enums``: type name -> labels)."""
    enums = getattr(index, "enums", None) or {}
    bare = type_name.replace('"', "")
    for key in (type_name, bare, bare.rpartition(".")[2]):
        if key in enums:
            return tuple(enums[key])
    return ()


_TIME_TYPES = ("timestamp", "date")


def is_time(type_name: str) -> bool:
    return type_name.startswith(_TIME_TYPES)


_NUMERIC = re.compile(r"^(smallint|integer|bigint|numeric|decimal|real|double precision|money|int[248]?|float[48]?)\b")


def is_numeric(type_name: str) -> bool:
    return bool(_NUMERIC.match(type_name))


_DURATION = re.compile(
    r"\b(length of (?:the )?stays?|duration|how long|lasted|took longer|durac[a]o|tempo medio|quanto tempo|"
    r"duraram|durou|permanencia|in days|em dias|longer than \d+ days|mais de \d+ dias|delay|delays|atraso|"
    r"atrasos|in minutes|em minutos|in hours|em horas|(?:hours|days|minutes|time) to|(?:horas|dias|minutos|tempo) "
    r"(?:para|de|ate) (?:resolver|resolucao|entregar|entrega|concluir|conclusao|fechar|fechamento|atender))\b"
)


_ACTUAL = re.compile(r"^(actual|real|efetiv[oa]|realizad[oa])_|_(actual|real|efetiv[oa]|realizad[oa])$")
_PLANNED = re.compile(
    r"^(scheduled|planned|expected|estimated|previst[oa]|planejad[oa]|agendad[oa]|programad[oa])_|"
    r"_(scheduled|planned|expected|estimated|previst[oa]|planejad[oa]|agendad[oa]|programad[oa])$"
)
_DELAY = re.compile(r"\b(delay|delays|delayed|late|atraso|atrasos|atrasad[oa]s?)\b")


def _planned_pairs(table: IndexedTable, words_: Sequence[str]) -> list[tuple[str, str]]:
    """(actual, planned) time columns of one event: actual_departure and scheduled_departure; the event the
    question names first ("departure delay")."""
    times = [c.name for c in table.columns if is_time(c.type)]
    pairs = []
    for position, actual in enumerate(times):
        if not _ACTUAL.search(actual.lower()):
            continue
        event = _ACTUAL.sub("", actual.lower())
        for planned in times:
            if _PLANNED.search(planned.lower()) and _PLANNED.sub("", planned.lower()) == event:
                named = any(_related(w, t) for w in words_ for t in terms(event))
                pairs.append((not named, position, actual, planned))
    return [(a, b) for _, _, a, b in sorted(pairs)]


def duration_columns(table: IndexedTable, question: str = "") -> tuple[str, str] | None:
    """(end, start): the two time columns a row's duration runs between. A delay ("atraso", "late") is an actual
    time after its planned one (actual_departure - scheduled_departure); otherwise a nullable column that records
    an ending ("admitted_at" to "discharged_at"), or the later column of a CHECK ordering two time columns, and
    the start it is compared with (or the first NOT NULL time column)."""
    times = {c.name: c for c in table.columns if is_time(c.type)}
    if len(times) < 2:
        return None
    planned = _planned_pairs(table, terms(question))
    if planned and _DELAY.search(question):
        return planned[0]
    ordered: list[tuple[str, str]] = []
    for check in table.checks:
        for m in re.finditer(r"\(?\"?(\w+)\"?\s*>=?\s*\"?(\w+)\"?\s*\)", check):
            if m.group(1) in times and m.group(2) in times:
                ordered.append((m.group(1), m.group(2)))
    ending = [
        c.name
        for c in times.values()
        if c.nullable and any(_concepts(t) & _Planner._ENDING_CONCEPTS for t in terms(c.name))
    ]
    for end in ending:
        start = next((b for a, b in ordered if a == end), None) or next(
            (n for n, c in times.items() if not c.nullable and n != end and "update" not in n), None
        )
        if start is not None:
            return end, start
    if ordered:
        return ordered[0]
    return planned[0] if planned else None


_UNIT_WORDS = {"minute": "minute", "minutes": "minute", "minuto": "minute", "minutos": "minute", "min": "minute",
               "hour": "hour", "hours": "hour", "hora": "hour", "horas": "hour", "h": "hour",
               "day": "day", "days": "day", "dia": "day", "dias": "day",
               "week": "week", "weeks": "week", "semana": "week", "semanas": "week"}  # fmt: skip
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 604800}


def duration_measure(table: IndexedTable, question: str = "") -> _Measure | None:
    """The row's duration as a number in the unit the question asks for ("in minutes", "em horas"; days by
    default): end - start of :func:`duration_columns`."""
    pair = duration_columns(table, question)
    if pair is None:
        return None
    m = re.search(r"\b(?:in|em)\s+(minutes|minutos|hours|horas|days|dias|weeks|semanas)\b", question)
    unit = _UNIT_WORDS[m.group(1)] if m else "day"
    dates = all((c := table.column(name)) is not None and c.type == "date" for name in pair)
    return _Measure(table, pair, f"span:{'date' if dates else 'ts'}:{unit}")


def time_column(table: IndexedTable, hint_terms: Sequence[str] = (), exclude: Sequence[str] = ()) -> str | None:
    """The column that says when a row happened: one the question names, then created_at-like, then the first
    date or timestamp column (a date column named after the table itself, e.g. order_date, comes first)."""
    times = [c for c in table.columns if is_time(c.type) and c.name not in exclude] or [
        c for c in table.columns if is_time(c.type)
    ]
    if not times:
        return None
    for col in times:
        col_terms = [t for t in terms(col.name) if CONCEPTS.get(t) != "date"]
        if col_terms and any(_related(h, t) for h in hint_terms for t in col_terms):
            return col.name
    names = [c.name for c in times]
    for preferred in ("created_at", "criado_em", "inserted_at", "timestamp", "sent_at", "started_at"):
        if preferred in names:
            return preferred
    table_terms = terms(table.name)
    for col in times:
        if any(_related(a, b) for a in terms(col.name) for b in table_terms):
            return col.name
    # a birth date is when the person was born, not when the row happened ("sales in 1997")
    events = [n for n in names if not any(CONCEPTS.get(t) == "birth" for t in terms(n))]
    non_update = [n for n in events if "update" not in n and "modif" not in n]
    return (non_update or events or names)[0]


_LABEL_WORDS = {"name", "nome", "title", "titulo", "label", "rotulo", "description", "descricao"}


def label_columns(table: IndexedTable) -> list[str]:
    """The columns a row is shown by: name/title/description-like text, first and last name, the column named
    after the table; an empty list when the table has none (its key is shown then)."""
    fk_cols = {c for fk in table.fks_out for c in fk.columns}
    texts = [c for c in table.columns if c.name not in fk_cols and _is_text(c.type)]
    names = {c.name for c in texts}
    first = next((n for n in names if re.fullmatch(r"(first_?name|nome|primeiro_?nome|given_?name)", n)), None)
    last = next(
        (n for n in names if re.fullmatch(r"(last_?name|sobrenome|ultimo_?nome|surname|family_?name)", n)), None
    )
    if first and last:
        return [first, last]
    table_terms = set(terms(table.name))
    for col in texts:
        col_terms = terms(col.name)
        if col_terms and (set(col_terms) <= _LABEL_WORDS or set(col_terms) == table_terms):
            return [col.name]
    for col in texts:
        col_terms = terms(col.name)
        if col_terms and col_terms[-1] in _LABEL_WORDS | {"nam"}:
            return [col.name]
    # a text column unique on its own (a serial number, a code) names a row too
    for key in table.unique_keys:
        if len(key) == 1 and key[0] in names:
            return [key[0]]
    return []


def _is_text(type_name: str) -> bool:
    return type_name.startswith(("text", "character varying", "varchar", "character", "citext", "name"))


def _ident(name: str) -> str:
    from dba_admin.assistant.schema_index import _ident as quote

    return quote(name)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _populated(table: IndexedTable) -> bool:
    """A materialized view that was never refreshed cannot be read: it is never proposed."""
    return getattr(table, "populated", True) is not False


# --------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------


_negating_prefix = re.compile(r"^(?:non-?|un|in|im|ir|des|nao-?)")


def _related(a: str, b: str) -> bool:
    """Two stemmed words name the same thing: equal, one concept of the index, or one a short prefix of the other
    ("rent"/"rental"); never for words under four letters."""
    if a == b:
        return True
    ca = CONCEPTS.get(a)
    if ca is not None and ca == CONCEPTS.get(b):
        return True
    if _concepts(a) & _concepts(b):  # a word may belong to several concepts ("active": task state, active flag)
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 4 and long_.startswith(short) and len(long_) - len(short) <= 3


def _synonym(a: str, b: str) -> bool:
    """The same stemmed word, or two words of one concept of the vocabulary."""
    return a == b or bool(_concepts(a) & _concepts(b))


@functools.lru_cache(maxsize=4096)
def _concepts(term: str) -> frozenset[str]:
    """The vocabulary's concepts of a term, by its English and its Portuguese stem ("concluiram" is "conclu":
    complete)."""
    keys = analyse(term)
    alt = keys[0][1] if keys else None
    return frozenset(concepts_of(term, alt)) | ({c} if (c := CONCEPTS.get(term)) else frozenset())


@dataclass(frozen=True)
class _Tok:
    start: int
    end: int
    word: str
    term: str | None  # stemmed, None for stop words and numbers
    loose: str | None  # the term, or the stem of a long stop word ("minimo", "total"), for column names


_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "fifty": 50, "hundred": 100,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "quinze": 15, "vinte": 20, "cinquenta": 50, "cem": 100,
}  # fmt: skip
_NUM = r"(\d{1,4}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _tokens(folded: str) -> list[_Tok]:
    out = []
    for m in re.finditer(r"[a-z0-9]+", folded):
        w = m.group()
        found = terms(w) if not w.isdigit() else []
        term = found[0] if found else None
        loose = term or (stem(w) if len(w) > 3 and not w.isdigit() else None)
        out.append(_Tok(m.start(), m.end(), w, term, loose))
    return out


# Cue words of both languages. They are grammar, not schema: no table or column name appears here.
_COUNT = re.compile(
    r"\b(how many|number of|count(?:s|ing)? (?:of |the )?|quant[oa]s|quantidade de|numero de|contagem de|conte|"
    r"contar|headcount|head count)\b"
)
_SUM = re.compile(r"\b(total|sum|soma|somatorio|totais|somar)\b")
_AVG = re.compile(r"\b(average|avg|mean|media|medio)\b")
_MIN = re.compile(r"\b(minimum|min|lowest|smallest|minim[oa])\b")
_MAX = re.compile(r"\b(maximum|max|highest|largest|biggest|maxim[oa])\b")
_MONEY = re.compile(
    r"\b(revenue|revenues|sales|sold|spent|spend|spending|income|turnover|billing|billed|earned|earnings|"
    r"receita|receitas|faturamento|faturou|faturad[oa]s?|vendas|vendeu|venderam|gast[oa]u?|gastaram|gastos?|"
    r"arrecadacao|arrecadou)\b"
)
# a money word followed by a comparison names a price, not revenue ("tickets sold for more than 4,500")
_COMPARED_AFTER = r"\s*(?:for |por |at )?(?:more|less|over|under|above|below|mais|menos|acima|abaixo|half)\b"
# "how much did we invoice each month?", "quanto faturamos?", "total tuition received": an amount of money
_HOW_MUCH = re.compile(
    r"\b(how much|quanto(?! tempo)|invoiced|faturamos|faturaram|total (?:\w+ )?(?:received|collected|"
    r"recebid[oa]s?|arrecadad[oa]s?)|(?:received|collected|recebid[oa]s?|arrecadad[oa]s?) (?:in|em) (?:\w+ )?"
    r"(?:payments|pagamentos))\b"
)
_GROUP = re.compile(
    r"\b(?:per|by|for each|for every|in each|each|por|para cada|de cada|em cada|cada|grouped by|broken down by|"
    r"agrupad[oa]s? por|split by)\s+(?:the |a |o |os |as |an )?"
)
_SORT = re.compile(r"\b(?:sorted by|ordered by|order by|ordenad[oa]s? (?:por|pel[oa]s?)|classificad[oa]s? por)\s+")
_NEG = re.compile(
    r"\b(never|without|with no|who have no|that have no|have not|has not|havent|hasnt|did not|didnt|do not|"
    r"does not|dont|doesnt|not|no|nunca|sem|jamais|nenhum|nenhuma|nada|nao)\b"
)
_ANTI = re.compile(
    r"\b(never|without|with no|have no|has no|nothing|not any|none|nobody|no one|zero|nunca|sem|jamais|nenhum|nenhuma|"
    r"nada|ninguem)\b"
)
_NEG_VERB = re.compile(r"\b(did not|didnt|have not|has not|havent|hasnt|do not|does not|dont|doesnt|nao)\s+([a-z]+)")
# "products not sold in 1998", "produtos não vendidos": a negated money verb is an anti-join
_NOT_SOLD = re.compile(r"\b(not|never|nao|nunca)\s+(?:been\s+|sido\s+|foram\s+)?([a-z]+)")
# "employees who have no subordinates", "funcionários sem subordinados": nobody points at them through the table's
# own foreign key to itself (manager, parent)
_SUBORDINATES = re.compile(
    r"\b(subordinates?|direct reports|reports|reportees|subordinad[oa]s|liderad[oa]s|children|filhos|ninguem|"
    r"nobody|no one|anyone|manage)\b"
)
_PAID_MOST = re.compile(
    r"\b(?:paid|spent|pay|spend|pagaram|pagou|gastaram|gastou)\s+(?:the\s+)?most\b|"
    r"\bmais\s+(?:pagaram|pagou|gastaram|gastou)\b"
)
_MOST = re.compile(
    r"\b(?:with the most|with most|with the highest number of|with the largest number of|with more|has the most|"
    r"have the most|had the most|the most|most|com mais|com o maior numero de|com maior numero de|com a maior "
    r"quantidade de|que mais|mais)(?:\s+|(?=\s*[?.!]?\s*$))"
)
_FEWEST = re.compile(
    r"\b(?:with the fewest|with the least|with fewer|fewest|least|com menos|com o menor numero de|que menos|menos)\s+"
)
_TOP = re.compile(
    r"\b(?:top|the|os|as|first|primeir[oa]s|which|quais|list the|liste os|liste as|last)\s+(?!(?:19|20)\d\d\b)"
    + _NUM
    + r"\b(?! (?:days?|weeks?|months?|years?|hours?|dias|semanas|meses|anos|horas)\b)"
)
_TOP_BARE = re.compile(r"\btop\b")
# Time buckets: "per year", "por mês", "monthly" -> the time column truncated or its year extracted.
_HAVING = frozenset({"have", "has", "with", "tem", "tenham", "tenha", "possui", "possuem", "com"})
_BUCKETS: list[tuple[str, re.Pattern[str]]] = [
    ("year", re.compile(r"\b(?:(?:per|by|each|for each|in each|por|a cada|em cada|cada|de cada)\s+(?:the\s+|o\s+)?"
                        r"(?:year|ano)s?|yearly|annual|annually|anual|anualmente|ano a ano|year over year)\b")),
    ("quarter", re.compile(r"\b(?:(?:per|by|each|for each|por|a cada|em cada|cada)\s+(?:the\s+|o\s+)?"
                           r"(?:quarter|trimestre)s?|quarterly|trimestral)\b")),
    ("month", re.compile(r"\b(?:(?:per|by|each|for each|in each|por|a cada|em cada|cada|de cada)\s+(?:the\s+|o\s+)?"
                         r"(?:month|mes|meses)s?|monthly|mensal|mensais|mensalmente|mes a mes|month over month)\b")),
    ("week", re.compile(r"\b(?:(?:per|by|each|for each|por|a cada|em cada|cada)\s+(?:the\s+|a\s+)?"
                        r"(?:week|semana)s?|weekly|semanal|semanais|semanalmente)\b")),
    ("day", re.compile(r"\b(?:(?:per|by|each|for each|por|a cada|em cada|cada)\s+(?:the\s+|o\s+)?"
                       r"(?:day|dia)s?|daily|diari[oa]s?|diariamente|dia a dia)\b")),
]  # fmt: skip
# "when was the latest X", "qual a data da X mais recente": the newest date itself, one value.
_AGENT = re.compile(
    r"\b(?!grouped|agrupad|broken|ordered|sorted|ordenad|classificad|split)[a-z]{2,}(?:ed|en|ad[oa]s?|id[oa]s?|"
    r"eit[oa]s?|rit[oa]s?|ert[oa]s?)\s+$"
)
_RANK_BY = re.compile(
    r"\b(?:with the|with|that have the|that has the|com o|com a|com|de)\s+"
    r"(highest|largest|biggest|greatest|lowest|smallest|maior(?:es)?|menor(?:es)?)\s+"
)
_AMOUNT_WORDS = frozenset({"valor", "value", "amount", "montante", "total", "importe", "quantia"})
_EARLIEST = re.compile(r"\b(earliest|first|oldest|primeir[oa]|mais antig[oa])\b")
_WHEN = re.compile(r"\b(when|quando|what date|which date|qual (?:e )?a data|que data|a data d[aeo]s?|date of)\b")
_LATEST = re.compile(
    r"\b(latest|most recent|most recently|newest|ultim[oa]s?|mais recentes?|mais recentemente|"
    r"last(?= \d+ (?!days?|weeks?|months?|years?|hours?)\w)|"
    r"the last(?! (?:\d+ )?(?:days?|weeks?|months?|years?|hours?|quarters?)\b))\b"
)

# Superlative adjectives -> (words a measure column is named by, descending?). General vocabulary.
_PRICE_WORDS = ("price", "preco", "cost", "valor", "fee", "tarifa", "charge")
_PAY_WORDS = ("salary", "salario", "wage", "pay", "remuneracao")
_SUPERLATIVES: list[tuple[re.Pattern[str], tuple[str, ...], bool]] = [
    (re.compile(r"\b(highest[- ]paid|best[- ]paid|mais bem pag[oa]s?|que mais ganham|maiores salarios)\b"), _PAY_WORDS,
     True),
    (re.compile(r"\b(lowest[- ]paid|worst[- ]paid|mais mal pag[oa]s?|que menos ganham|menores salarios)\b"), _PAY_WORDS,
     False),
    (re.compile(r"\b(most expensive|priciest|mais car[oa]s?|car[oa]s?)\b"), _PRICE_WORDS, True),
    (re.compile(r"\b(cheapest|least expensive|mais barat[oa]s?|barat[oa]s?)\b"), _PRICE_WORDS, False),
    (re.compile(r"\b(longest|mais long[oa]s?|mais demorad[oa]s?)\b"), ("length", "duration", "duracao", "minute",
     "millisecond", "comprimento", "tamanho"), True),
    (re.compile(r"\b(shortest|mais curt[oa]s?)\b"), ("length", "duration", "duracao", "minute", "millisecond",
     "comprimento", "tamanho"), False),
    (re.compile(r"\b(heaviest|mais pesad[oa]s?)\b"), ("weight", "peso"), True),
    (re.compile(r"\b(lightest|mais leves?)\b"), ("weight", "peso"), False),
    (re.compile(r"\b(oldest|mais antig[oa]s?)\b"), ("date", "data", "created", "birth", "nascimento"), False),
    (re.compile(r"\b(newest|mais nov[oa]s?)\b"), ("date", "data", "created"), True),
    (re.compile(r"\b(best[- ]selling|most sold|mais vendid[oa]s?|top selling)\b"), ("quantity", "quantidade"), True),
]  # fmt: skip

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "janeiro": 1, "fevereiro": 2, "marco": 3,
    "abril": 4, "maio": 5, "junho": 6, "julho": 7, "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11,
    "dezembro": 12, "jan": 1, "feb": 2, "fev": 2, "mar": 3, "apr": 4, "abr": 4, "jun": 6, "jul": 7, "aug": 8,
    "ago": 8, "sep": 9, "set": 9, "oct": 10, "out": 10, "nov": 11, "dec": 12, "dez": 12,
}  # fmt: skip
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_DATE = r"(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"


@dataclass(frozen=True)
class _Range:
    lo: str  # SQL expressions, hi exclusive
    hi: str
    en: str
    pt: str
    span: tuple[int, int]


def _day(text: str) -> dt.date:
    if "/" in text:
        d, m, y = (int(p) for p in text.split("/"))
        return dt.date(y, m, d)
    return dt.date.fromisoformat(text)


def _lit(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


_STATE_NOW = re.compile(
    r"\b(we have|do we have|are there|is there|temos|tem|ha|existem|existe|currently|right now|atualmente|"
    r"still|ainda|no momento|agora)\b"
)


def date_range(folded: str) -> _Range | None:
    """A date range in the question: between two dates, a month of a year, a year, last/this month or year, the
    last N days. Bounds are SQL (literals or current_date arithmetic), the upper one exclusive."""
    m = re.search(r"\b(?:between|from|entre|de)\s+" + _DATE + r"\s+(?:and|to|until|e|a|ate)\s+" + _DATE, folded)
    if m:
        lo, hi = _day(m.group(1)), _day(m.group(2))
        return _Range(_lit(lo), _lit(hi + dt.timedelta(days=1)), f"from {lo} to {hi}", f"de {lo} a {hi}", m.span())
    m = re.search(r"\b(?:between|entre)\s+(\d{4})\s+(?:and|e)\s+(\d{4})\b", folded)
    if m:
        y1, y2 = int(m.group(1)), int(m.group(2))
        return _Range(
            _lit(dt.date(y1, 1, 1)), _lit(dt.date(y2 + 1, 1, 1)), f"from {y1} to {y2}", f"de {y1} a {y2}", m.span()
        )
    m = re.search(r"\b(before|antes de|prior to|after|depois de|apos|since|desde)\s+(?:o |a )?" + _MONTH
                  + r"\s+(?:of\s+|de\s+)?(\d{4})\b", folded)  # fmt: skip
    if m:
        month, year = _MONTHS[m.group(2)], int(m.group(3))
        first = dt.date(year, month, 1)
        after = dt.date(year + (month == 12), month % 12 + 1, 1)
        name = f"{calendar.month_name[month]} {year}"
        if m.group(1) in ("before", "antes de", "prior to"):
            return _Range("'-infinity'", _lit(first), f"before {name}", f"antes de {name}", m.span())
        if m.group(1) in ("since", "desde"):
            return _Range(_lit(first), "'infinity'", f"since {name}", f"desde {name}", m.span())
        return _Range(_lit(after), "'infinity'", f"after {name}", f"depois de {name}", m.span())
    m = re.search(
        r"\b(?:q([1-4])|([1-4])(?:st|nd|rd|th|o|º)? (?:quarter|trimestre)|(first|second|third|fourth|last|primeiro|"
        r"segundo|terceiro|quarto|ultimo) (?:quarter|trimestre))\s+(?:of\s+|de\s+|do\s+)?(\d{4})\b",
        folded,
    )
    if m:
        words_q = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": 4, "primeiro": 1, "segundo": 2,
                   "terceiro": 3, "quarto": 4, "ultimo": 4}  # fmt: skip
        quarter = int(m.group(1) or m.group(2) or words_q[m.group(3)])
        year = int(m.group(4))
        lo = dt.date(year, 3 * quarter - 2, 1)
        hi = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        return _Range(_lit(lo), _lit(hi), f"in Q{quarter} {year}", f"no {quarter}º trimestre de {year}", m.span())
    m = re.search(r"\b" + _MONTH + r"\s+(?:of\s+|de\s+)?(\d{4})\b", folded)
    if m:
        month, year = _MONTHS[m.group(1)], int(m.group(2))
        lo = dt.date(year, month, 1)
        hi = dt.date(year + (month == 12), month % 12 + 1, 1)
        name = calendar.month_name[month]
        return _Range(_lit(lo), _lit(hi), f"in {name} {year}", f"em {m.group(1)} de {year}", m.span())
    m = re.search(r"\b(\d{4})-(\d{2})\b(?!-)", folded)
    if m and 1 <= int(m.group(2)) <= 12:
        year, month = int(m.group(1)), int(m.group(2))
        lo = dt.date(year, month, 1)
        hi = dt.date(year + (month == 12), month % 12 + 1, 1)
        return _Range(_lit(lo), _lit(hi), f"in {year}-{month:02d}", f"em {year}-{month:02d}", m.span())
    m = re.search(r"\b(?:since|after|desde|apos|depois de)\s+" + _DATE, folded)
    if m:
        lo = _day(m.group(1))
        return _Range(_lit(lo), "'infinity'", f"since {lo}", f"desde {lo}", m.span())
    m = re.search(r"\b(?:before|antes de)\s+" + _DATE, folded)
    if m:
        hi = _day(m.group(1))
        return _Range("'-infinity'", _lit(hi), f"before {hi}", f"antes de {hi}", m.span())
    # a bare year: "born before 1960", "due before 2024", "antes de 2024", "after 2022" (after all of it),
    # "since 2022", "desde 2022", "up to 2021", "até 2021" (all of it included)
    m = re.search(r"\b(before|antes de|prior to|earlier than)\s+(?:the year\s+|o ano de\s+)?((?:19|20)\d\d)\b", folded)
    if m:
        year = int(m.group(2))
        return _Range("'-infinity'", _lit(dt.date(year, 1, 1)), f"before {year}", f"antes de {year}", m.span())
    m = re.search(r"\b(after|depois de|apos|later than)\s+(?:the year\s+|o ano de\s+)?((?:19|20)\d\d)\b", folded)
    if m:
        year = int(m.group(2))
        return _Range(_lit(dt.date(year + 1, 1, 1)), "'infinity'", f"after {year}", f"depois de {year}", m.span())
    m = re.search(r"\b(since|desde|a partir de)\s+(?:the year\s+|o ano de\s+)?((?:19|20)\d\d)\b", folded)
    if m:
        year = int(m.group(2))
        return _Range(_lit(dt.date(year, 1, 1)), "'infinity'", f"since {year}", f"desde {year}", m.span())
    m = re.search(r"\b(until|up to|through|ate)\s+(?:the year\s+|o ano de\s+)?((?:19|20)\d\d)\b", folded)
    if m:
        year = int(m.group(2))
        return _Range("'-infinity'", _lit(dt.date(year + 1, 1, 1)), f"up to {year}", f"até {year}", m.span())
    m = re.search(
        r"\b(?:in|during|em|durante|no ano de|of|de|do|da|for|para|from)\s+(?:the year\s+|o ano de\s+)?"
        r"((?:19|20)\d\d)\b",
        folded,
    )
    if m:
        year = int(m.group(1))
        return _Range(_lit(dt.date(year, 1, 1)), _lit(dt.date(year + 1, 1, 1)), f"in {year}", f"em {year}", m.span())
    # "in the 2023 cycle", "no ciclo 2023", "2024 season": a year named with the period it stands for
    m = re.search(
        r"\b(?:the|no|na|cycle|ciclo|exercicio|season|safra|temporada|ano)\s+((?:19|20)\d\d)\b|"
        r"\b((?:19|20)\d\d)\s+(?:cycle|ciclo|season|safra|temporada|exercicio|fiscal year)\b|"
        r"^\s*(?:the\s+)?((?:19|20)\d\d)\s+(?=[a-z]{3,})",
        folded,
    )
    if m:
        year = int(m.group(1) or m.group(2) or m.group(3))
        return _Range(_lit(dt.date(year, 1, 1)), _lit(dt.date(year + 1, 1, 1)), f"in {year}", f"em {year}", m.span())
    relative = [
        (r"\b(?:last|previous) month\b|\bmes passado\b|\bmes anterior\b", "month", -1, "last month", "no mês passado"),
        (r"\b(?:this|current) month\b|\bneste mes\b|\beste mes\b|\bmes atual\b", "month", 0, "this month", "neste mês"),
        (r"\b(?:last|previous) year\b|\bano passado\b|\bano anterior\b", "year", -1, "last year", "no ano passado"),
        (r"\b(?:this|current) year\b|\bneste ano\b|\beste ano\b|\bano atual\b", "year", 0, "this year", "neste ano"),
        (r"\b(?:last|previous) week\b|\bsemana passada\b", "week", -1, "last week", "na semana passada"),
        (r"\btoday\b|\bhoje\b", "day", 0, "today", "hoje"),
        (r"\byesterday\b|\bontem\b", "day", -1, "yesterday", "ontem"),
    ]
    for pattern, unit, offset, en, pt in relative:
        m = re.search(pattern, folded)
        if m and unit == "day" and offset == 0 and _STATE_NOW.search(folded):
            continue  # "how many PJ contractors do we have today?": the current state, not rows dated today
        if m:
            start = f"date_trunc('{unit}', current_date)"
            if offset:
                return _Range(f"({start} - interval '1 {unit}')", start, en, pt, m.span())
            return _Range(start, f"({start} + interval '1 {unit}')", en, pt, m.span())
    m = re.search(r"\b(?:last|past|ultim[oa]s)\s+" + _NUM + r"\s+(days|dias|months|meses)\b", folded)
    if m:
        n = _number(m.group(1))
        unit = "day" if m.group(2) in ("days", "dias") else "month"
        since = f"(current_date - interval '{n} {unit}')"
        words_en = f"in the last {n} {unit}s"
        words_pt = f"nos últimos {n} {'dias' if unit == 'day' else 'meses'}"
        return _Range(since, "'infinity'", words_en, words_pt, m.span())
    return None


# --------------------------------------------------------------------------------------------------
# Reading the question
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mention:
    first: int  # token indexes, inclusive
    last: int
    table: IndexedTable


@dataclass(frozen=True)
class _Measure:
    table: IndexedTable
    columns: tuple[str, ...]  # one column, or price, quantity[, discount] of a line table
    kind: str  # column | line

    def sql(self, prefix: str) -> str:
        cols = [prefix + _ident(c) for c in self.columns]
        if self.kind.startswith("span:"):  # (end, start): the duration in the asked unit
            _, kind, unit = self.kind.split(":")
            if kind == "date":  # a difference of dates is a number of days
                factor = _UNIT_SECONDS["day"] / _UNIT_SECONDS[unit]
                return f"({cols[0]} - {cols[1]})" + (f" * {factor:g}" if factor != 1 else "")
            return f"(extract(epoch FROM {cols[0]} - {cols[1]}) / {_UNIT_SECONDS[unit]})"
        if self.kind == "line":
            expr = f"{cols[0]} * {cols[1]}"
            return expr + (f" * (1 - {cols[2]})" if len(cols) > 2 else "")
        return cols[0]

    def words(self, lang: str) -> str:
        if self.kind.startswith("span:"):
            unit = self.kind.rsplit(":", 1)[1]
            unit_words = (
                {"minute": "minutos", "hour": "horas", "day": "dias", "week": "semanas"}[unit]
                if lang == "pt"
                else unit + "s"
            )
            in_ = " em " if lang == "pt" else " in "
            return f"{self.columns[0]} − {self.columns[1]}{in_}{unit_words} ({self.table.qualified_name})"
        if self.kind == "line":
            text = " × ".join(self.columns[:2])
            if len(self.columns) > 2:
                text += f" × (1 − {self.columns[2]})"
            return text + (" de " if lang == "pt" else " of ") + self.table.qualified_name
        return f"{self.table.qualified_name}.{self.columns[0]}"


@dataclass(frozen=True)
class _Filter:
    table: IndexedTable
    template: str  # "{a}" stands for the table's alias prefix
    en: str
    pt: str
    pos: int = -1  # the token of the question that named it, when one did
    null_column: str = ""  # the column an IS NULL test is on ("not shipped yet"): not the one a date range is on
    state: bool = False  # "active", "pending": the row's current state, never the other side of a negation


@dataclass
class _Parsed:
    question: str
    folded: str
    tokens: list[_Tok]
    mentions: list[_Mention] = field(default_factory=list)


class _Planner:
    def __init__(self, index: SchemaIndex, question: str, history_tables: Sequence[str]) -> None:
        self.index = index
        self.question = question
        self.folded = fold(question)
        self.tokens = _tokens(self.folded)
        self.history = [t for t in history_tables if t in index.by_name]
        self.tables = [t for t in index.tables if _populated(t)]
        self._name_terms = {
            t.qualified_name: [x for x in terms(t.name) if len(x) > 2] or terms(t.name) for t in self.tables
        }
        self.mentions = self._find_mentions()
        self._values: list[tuple[str, str, str, float, frozenset[int]]] | None = None
        # CHECK/enum values already used as filters: the same word is not also a data value elsewhere
        # ("emergency admissions": admission_type = 'emergency', not the Emergency department too)
        self._named_values: set[str] = set()
        self._money: list[tuple[int, _Measure]] | None = None

    # -- mentions ---------------------------------------------------------------------------------------

    def _tok_index(self, char: int) -> int:
        for i, tok in enumerate(self.tokens):
            if tok.end > char:
                return i
        return len(self.tokens)

    def _find_mentions(self) -> list[_Mention]:
        """Tables named in the question (by name words, stems, concepts), left to right, longest names first."""
        out: list[_Mention] = []
        i = 0
        n = len(self.tokens)
        while i < n:
            found: _Mention | None = None
            if self.tokens[i].term is None:
                i += 1
                continue
            # up to three content words from here, a stop word allowed between two ("ordem de serviço")
            content = [i]
            j = i + 1
            while len(content) < 3 and j < n:
                if self.tokens[j].term is not None:
                    content.append(j)
                    j += 1
                elif j + 1 < n and self.tokens[j + 1].term is not None and not self.tokens[j].word.isdigit():
                    content.append(j + 1)
                    j += 2
                else:
                    break
            for width in (3, 2, 1):
                if len(content) < width:
                    continue
                span = [self.tokens[k] for k in content[:width]]
                table = self._table_for_terms([t.term for t in span if t.term])
                if table is not None:
                    found = _Mention(i, content[width - 1], table)
                    break
            if found is not None:
                found = self._head_of_link(found)
                out.append(found)
                i = found.last + 1
            else:
                i += 1
        # a participle right before a noun describes it ("recently hired doctors", "rented films"): the noun is
        # the table, not the one the verb would name (hire -> admissions)
        return [
            m
            for k, m in enumerate(out)
            if not (
                m.first == m.last
                and k + 1 < len(out)
                and out[k + 1].first == m.last + 1
                and re.search(r"(ed|ad[oa]s|id[oa]s)$", self.tokens[m.first].word)
            )
        ]

    def _head_of_link(self, mention: _Mention) -> _Mention:
        """ "film categories", "categorias de filme": two words that spell a link table (film_category) name the
        head noun's table (category), the last word in English and the first before "de" in Portuguese. A link
        table is meant only when its own name is written ("describe film_category")."""
        table = mention.table
        if mention.first == mention.last or not _is_link(table) or table.name.lower() in self.question.lower():
            return mention
        span = self.tokens[mention.first : mention.last + 1]
        # an English compound ("film categories") ends on its head; words joined by "de", "of", "whose", "cujos"
        # start on it ("categorias de filme", "actors whose films")
        head = span[0] if len(span) > 2 or any(t.term is None for t in span) else span[-1]
        targets = [
            ref
            for fk in table.fks_out
            if (ref := self.index.by_name.get(fk.ref_table)) is not None and ref is not table and _populated(ref)
        ]
        named = [
            ref for ref in targets if any(_related(head.term or "", n) for n in self._name_terms[ref.qualified_name])
        ]
        return _Mention(mention.first, mention.last, named[0]) if len(named) == 1 else mention

    def _table_for_terms(self, span: list[str]) -> IndexedTable | None:
        best: tuple[tuple[int, int, int, int], IndexedTable] | None = None
        for table in self.tables:
            name = self._name_terms[table.qualified_name]
            if len(name) != len(span):
                continue
            used: set[int] = set()
            exact = 0
            for nt in name:
                k = next((k for k, s in enumerate(span) if k not in used and _related(s, nt)), None)
                if k is None:
                    break
                used.add(k)
                exact += span[k] == nt
            else:
                rank = (
                    exact,
                    table.kind in ("table", "partitioned_table"),
                    table.schema == "public",
                    -len(table.name),
                )
                if best is None or rank > best[0]:
                    best = (rank, table)
        return best[1] if best else None

    def _mention_after(self, char: int, within: int = 4) -> _Mention | None:
        start = self._tok_index(char)
        for m in self.mentions:
            if start <= m.first <= start + within:
                return m
        return None

    def _phrase_terms(self, char: int, within: int = 4) -> list[tuple[int, str]]:
        start = self._tok_index(char)
        out = []
        for i in range(start, min(len(self.tokens), start + within)):
            term = self.tokens[i].loose
            if term is not None:
                out.append((i, term))
        return out

    # -- columns -------------------------------------------------------------------------------------------

    def _column_for(
        self, table: IndexedTable, phrase: Sequence[str], *, numeric: bool = False, exclude_keys: bool = True
    ) -> str | None:
        """The column of ``table`` that the phrase's words name best (all of its own name words, or its head)."""
        found = self._column_score(table, phrase, numeric=numeric, exclude_keys=exclude_keys)
        return found[1] if found else None

    def _column_score(
        self, table: IndexedTable, phrase: Sequence[str], *, numeric: bool = False, exclude_keys: bool = True
    ) -> tuple[float, str] | None:
        keys = set(table.primary_key) | {c for fk in table.fks_out for c in fk.columns}
        best: tuple[float, str] | None = None
        for col in table.columns:
            if numeric and not is_numeric(col.type):
                continue
            if exclude_keys and col.name in keys:
                continue
            col_terms = [t for t in _column_terms(col.name) if t != "id"]
            if not col_terms:
                continue
            hit = sum(any(_related(p, c) for p in phrase) for c in col_terms)
            if hit == 0:
                continue
            score = hit / len(col_terms) + 0.05 * hit + 0.1 * (col_terms[-1] in phrase or col_terms[0] in phrase)
            if best is None or score > best[0]:
                best = (score, col.name)
        return best if best and best[0] >= 0.5 else None

    def column_nearby(
        self, tables: Sequence[IndexedTable], phrase: Sequence[str], *, numeric: bool = False
    ) -> tuple[IndexedTable, str] | None:
        """The best column the phrase names in ``tables`` or the tables they reference (many-to-one, so a
        group or a measure found there does not multiply rows): "per consumption class" from invoices."""
        best: tuple[tuple[float, int], IndexedTable, str] | None = None
        for hop, group in enumerate(
            (list(tables), [t for tb in tables for fk in tb.fks_out if (t := self.index.by_name.get(fk.ref_table))])
        ):
            for table in group:
                if not _populated(table):
                    continue
                found = self._column_score(table, phrase, numeric=numeric)
                if found is not None and (best is None or (found[0], -hop) > best[0]):
                    best = ((found[0], -hop), table, found[1])
        return (best[1], best[2]) if best else None

    def measure_anywhere(self, phrase: Sequence[str], anchor: IndexedTable | None) -> _Measure | None:
        """A numeric column named by all its words ("consumption in kWh" -> consumo_kwh) in any base table joined
        to the anchor: the best name match, then the nearest table."""
        best: tuple[tuple[float, int], _Measure] | None = None
        for table in self.tables:
            if table.kind not in ("table", "partitioned_table"):
                continue
            found = self._column_score(table, phrase, numeric=True)
            if found is None or found[0] < 0.6:  # at least half its words, its head or its last one among them
                continue
            hops = 0
            if anchor is not None and anchor is not table:
                path = self.index.join_path(table.qualified_name, anchor.qualified_name)
                if path is None:
                    continue
                hops = len(path.edges)
            rank = (found[0], -hops)
            if best is None or rank > best[0]:
                best = (rank, _Measure(table, (found[1],), "column"))
        return best[1] if best else None

    # -- measures ----------------------------------------------------------------------------------------

    def _line_measure(self, table: IndexedTable) -> _Measure | None:
        price = qty = disc = None
        for col in table.columns:
            if not is_numeric(col.type) or col.name in table.primary_key:
                continue
            col_terms = set(terms(col.name))
            concepts = {CONCEPTS.get(t) for t in col_terms}
            if price is None and (col_terms & {"price", "preco"} or ("price" in concepts and "unit" in col_terms)):
                price = col.name
            elif qty is None and ("quantity" in concepts or col_terms & {"quantity", "qty", "quantidade", "qtd"}):
                qty = col.name
            elif disc is None and ("discount" in concepts or col_terms & {"discount", "desconto"}):
                disc = col.name
        if price and qty:
            return _Measure(table, (price, qty, disc) if disc else (price, qty), "line")
        return None

    def _money_measures(self) -> list[tuple[int, _Measure]]:
        """Candidate revenue measures, best kind first: a column named like revenue, a line table's price x quantity,
        an amount/total column. A plain unit price is not revenue. Read from every table once per question (a
        question asks for them from several places), so kept."""
        if self._money is None:
            self._money = self._find_money_measures()
        return self._money

    def _find_money_measures(self) -> list[tuple[int, _Measure]]:
        out: list[tuple[int, _Measure]] = []
        for table in self.tables:
            if table.kind not in ("table", "partitioned_table"):
                continue
            line = self._line_measure(table)
            for col in table.columns:
                if not is_numeric(col.type) or col.name in table.primary_key:
                    continue
                if any(col.name in fk.columns for fk in table.fks_out):
                    continue
                col_terms = terms(col.name)
                text = " ".join(col_terms)
                if _MONEY.search(text):
                    out.append((0, _Measure(table, (col.name,), "column")))
                elif line is None and (
                    set(col_terms) & {"amount", "total", "montante", "valor", "value", "subtotal"}
                    and not set(col_terms) & {"quantity", "qty", "count", "discount", "desconto", "tax", "freight"}
                ):
                    out.append((2, _Measure(table, (col.name,), "column")))
            if line is not None:
                out.append((1, line))
        return out

    def _closest(self, candidates: list[tuple[int, _Measure]], anchor: IndexedTable | None) -> _Measure | None:
        best: tuple[tuple[int, int, int], _Measure] | None = None
        for tier, measure in candidates:
            if anchor is None:
                hops = 0
            else:
                path = self.index.join_path(measure.table.qualified_name, anchor.qualified_name)
                if path is None:
                    continue
                hops = len(path.edges)
            rank = (tier, hops, -(measure.table.estimated_rows or 0))
            if best is None or rank < best[0]:
                best = (rank, measure)
        return best[1] if best else None

    def _named_measure(self, phrase: Sequence[str], tables: Sequence[IndexedTable]) -> _Measure | None:
        for table in tables:
            col = self._column_for(table, phrase, numeric=True)
            if col is not None:
                return _Measure(table, (col,), "column")
        return None

    # -- filters --------------------------------------------------------------------------------------------

    def _negated_before(self, tok: int, reach: int = 3) -> bool:
        lo = self.tokens[max(0, tok - reach)].start if tok - reach >= 0 else 0
        window = self.folded[lo : self.tokens[tok].start]
        return bool(re.search(r"\b(not|no|never|yet|nao|sem|nunca|ainda nao|without|none|fora de|out of)\b", window))

    def _value_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """col = 'value' for allowed values (CHECK, enum) that the question spells out."""
        out: list[_Filter] = []
        candidates: dict[str, list[str]] = dict(allowed_values(table))
        for col in table.columns:
            labels = enum_values(self.index, col.type)
            if labels:
                candidates.setdefault(col.name, []).extend(labels)
        # words that name a table are not values ("employees" is not the role 'electrician', a kind of employee)
        in_mention = {k for m in self.mentions for k in range(m.first, m.last + 1)}
        q_terms = {t.term for k, t in enumerate(self.tokens) if t.term and k not in in_mention}
        table_toks = {k for m in self.mentions if m.table is table for k in range(m.first, m.last + 1)}
        for column, values in sorted(candidates.items()):
            if (table.qualified_name, column) in used:
                continue
            chosen = [v for v in self._values_named(table, column, values, q_terms, table_toks)
                      if not self._measured_value(table, v)]  # fmt: skip
            if chosen:
                used.add((table.qualified_name, column))
                self._named_values.update(fold(v) for v in chosen)
                if len(chosen) == 1:
                    template = f"{{a}}{_ident(column)} = {_literal(chosen[0])}"
                    words_ = f"{column} = '{chosen[0]}'"
                else:  # "G or PG", "PG ou G": one of several values
                    template = f"{{a}}{_ident(column)} IN ({', '.join(map(_literal, chosen))})"
                    words_ = f"{column} IN ({', '.join(repr(v) for v in chosen)})"
                out.append(_Filter(table, template, words_, words_))
        return out

    def _measured_value(self, table: IndexedTable, value: str) -> bool:
        """ "flights delayed more than 2 hours", "voos que decolaram com atraso": a delay is measured on the actual and
        scheduled times, so the 'delayed' and 'departed' statuses that name the same words are not also required."""
        if not _DELAY.search(self.folded):
            return False
        pairs = _planned_pairs(table, ())
        measured = {"delay", *(t for a, _ in pairs for t in terms(_ACTUAL.sub("", a.lower())))}
        return bool(pairs) and any(_synonym(t, w) for t in terms(value) for w in measured)

    def _values_named(
        self, table: IndexedTable, column: str, values: Sequence[str], q_terms: set[str], table_toks: set[int]
    ) -> list[str]:
        """The allowed values of one column the question spells out, in its order. A value is matched whole
        ("PG-13" is not "PG"); a one- or two-letter value counts only as its own upper-case word next to the
        column's name ("rated R"), before the table's name ("R movies"), or joined by "or"/"ou" to another value
        ("G or PG")."""
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        short: list[tuple[int, int, str]] = []
        col_terms = terms(column)
        for value in sorted(set(values), key=len, reverse=True):
            fv = fold(value).strip()
            if not fv:
                continue
            if len(re.sub(r"[^a-z0-9]", "", fv)) <= 2:
                pattern = r"(?<![\w-])" + re.escape(value) + r"(?![\w-])"
                for m in re.finditer(pattern, self.question):
                    if not any(a <= m.start() < b for a, b in taken):
                        short.append((m.start(), m.end(), value))
                        break
                continue
            # "no-shows", "no shows" name 'no_show'; "in progress" names 'in_progress'
            whole = _spelled(fv).search(self.folded)
            if whole and not any(a <= whole.start() < b for a, b in taken):
                found.append((whole.start(), value))
                taken.append(whole.span())
                continue
            v_terms = terms(value)
            negating = {"sem", "no", "not", "non", "nao", "without", "un", "in"} & set(re.split(r"[\s_-]+", fv))
            if negating and not any(re.search(rf"\b{w}\b", self.folded) for w in negating):
                continue  # 'sem_justa_causa' is not named by "justa causa"
            # a value of several words may use words that also name a table ("travel agencies": 'travel_agency')
            pool = (
                q_terms
                if len(v_terms) < 2
                else {t.term for k, t in enumerate(self.tokens) if t.term} - {self.tokens[k].term for k in table_toks}
            )
            # one word must be the same word or a synonym, not a prefix ('departed' is not "departure")
            close = _related if len(v_terms) > 1 else _synonym
            if len(v_terms) == 1:  # a word that names another column is that column ("departure delay")
                pool = pool - {t for c in table.columns if c.name != column for t in terms(c.name)}
            if v_terms and all(any(close(v, q) for q in pool) for v in v_terms) and len(fv) > 3 and not found:
                found.append((len(self.folded), value))
        spans = [(a, b) for a, b, _ in short] + taken
        for start, end, value in short:
            k = self._tok_index(start)
            before = self.tokens[max(0, k - 3) : k]
            near_column = any(_related(c, t.term or "") for c in col_terms for t in before)
            before_table = k + 1 in table_toks
            joined = any(
                re.fullmatch(r"\s*(?:,|or|ou|and|e|/)\s*", self.question[e2:start].lower())
                or re.fullmatch(r"\s*(?:,|or|ou|and|e|/)\s*", self.question[end:s2].lower())
                for s2, e2 in spans
                if (s2, e2) != (start, end)
            )
            if near_column or before_table or joined:
                found.append((start, value))
        return [v for _, v in sorted(found)]

    _LATE = re.compile(
        r"\b(late|arrived late|after the deadline|past the deadline|atrasad[oa]s?|em atraso|com atraso|"
        r"depois do prazo|apos o prazo|fora do prazo)\b"
    )

    def _late_filter(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """ "deliveries that arrived late", "entregas atrasadas": the ending time after the row's deadline
        (entregue_em > prazo), the deadline in the table itself or in the one row it references (the shipment's
        promised date); a timestamp is compared by its day with a date deadline."""
        if self._LATE.search(self.folded) is None:
            return []
        times = [c for c in table.columns if is_time(c.type)]
        endings = [
            c
            for c in times
            if (c.nullable or _ACTUAL.search(c.name.lower()))
            and not any("due" in _concepts(t) for t in terms(c.name))
            and any(_concepts(t) & self._ENDING_CONCEPTS for t in terms(c.name))
        ]
        if len(endings) != 1 or (table.qualified_name, endings[0].name) in used:
            return []
        end = endings[0]

        def deadline_of(t: IndexedTable) -> ColumnInfo | None:
            found = [c for c in t.columns if is_time(c.type) and any("due" in _concepts(w) for w in terms(c.name))]
            return found[0] if len(found) == 1 else None

        own = deadline_of(table)
        day = "::date" if end.type != "date" else ""
        if own is not None:
            template = f"{{a}}{_ident(end.name)}{day if own.type == 'date' else ''} > {{a}}{_ident(own.name)}"
            said = f"{end.name} > {own.name}"
        else:
            refs = [
                (fk, ref, dl)
                for fk in table.fks_out
                if len(fk.columns) == 1
                and (ref := self.index.by_name.get(fk.ref_table)) is not None
                and (dl := deadline_of(ref)) is not None
                and ref.column(fk.columns[0]) is None  # the key's name must not be the referenced table's own
            ]
            # the deadline of the same event ("prazo_entrega" for "entregue_em"), when several tables have one
            same_event = [r for r in refs if any(_synonym(a, b) for a in terms(r[2].name) for b in terms(end.name))]
            refs = same_event if len(refs) > 1 else refs
            if len(refs) != 1:
                return []
            fk, ref, dl = refs[0]
            template = (
                f"{{a}}{_ident(end.name)}{day if dl.type == 'date' else ''} > (SELECT d.{_ident(dl.name)} "  # noqa: S608  # nosec B608
                f"FROM {qualified_ident(ref.qualified_name)} AS d WHERE d.{_ident(fk.ref_columns[0])} = "
                f"{{a}}{_ident(fk.columns[0])})"
            )
            said = f"{end.name} > {ref.qualified_name}.{dl.name}"
        used.add((table.qualified_name, end.name))
        return [_Filter(table, template, said, said)]

    def _comment_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """A number whose meaning a column's comment spells and the question names: "bolsa integral" for a comment
        "1.00 = bolsa integral" on bolsa_percentual."""
        out: list[_Filter] = []
        for col in table.columns:
            if (table.qualified_name, col.name) in used or not is_numeric(col.type) or not col.comment:
                continue
            for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:=|:)\s*([^,;()=]+)", fold(col.comment)):
                meaning = m.group(2).strip().rstrip(".")
                if len(meaning) >= 4 and re.search(
                    r"(?<![a-z0-9])" + re.escape(meaning) + r"(?![a-z0-9])", self.folded
                ):
                    used.add((table.qualified_name, col.name))
                    self._named_values.update(meaning.split())  # "integral" is not also a course shift
                    out.append(
                        _Filter(
                            table,
                            f"{{a}}{_ident(col.name)} = {m.group(1)}",
                            f"{col.name} = {m.group(1)} ({meaning})",
                            f"{col.name} = {m.group(1)} ({meaning})",
                        )
                    )
                    break
        return out

    def _comment_value(self, col: ColumnInfo) -> str | None:
        """The value ("1", "0", "true", "false") whose meaning the column's comment spells and the question names:
        "home office" for a comment "1 = home office, 0 = presencial"."""
        if not col.comment:
            return None
        for m in re.finditer(r"\b(1|0|true|false|t|f)\s*(?:=|:|->)\s*([^,;.()=]+)", fold(col.comment)):
            meaning = m.group(2).strip()
            if len(meaning) >= 3 and re.search(r"(?<![a-z0-9])" + re.escape(meaning) + r"(?![a-z0-9])", self.folded):
                value = m.group(1)
                return {"t": "true", "f": "false"}.get(value, value)
        return None

    def _flag_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """Boolean and 0/1 columns the question names ("discontinued", "active", "não ativos")."""
        out: list[_Filter] = []
        flags01 = {c for c, vals in allowed_values(table).items() if set(vals) <= {"0", "1"}}
        flags01 |= zero_one_columns(table)
        for col in table.columns:
            if (table.qualified_name, col.name) in used:
                continue
            is_bool = col.type == "boolean"
            col_terms = [t for t in terms(col.name) if t not in ("is", "has", "flag", "fl")]
            name = col.name.lower()
            is_flag01 = (
                col.type in ("integer", "smallint", "bit(1)", "bit")
                and col.name not in table.primary_key
                and (
                    col.name in flags01
                    or name.startswith(("is_", "has_", "flag_", "fl_"))
                    # a participle or an adjective: "discontinued", "ativo", "available", "visivel"
                    or (
                        len(col_terms) == 1
                        and re.search(r"(ed|ado|ada|ido|ida|ive|ivo|iva|able|ible|avel|ivel)$", name) is not None
                    )
                    or bool(col.comment and re.search(r"\b0\b.*\b1\b|\b1\s*=|boolean|flag", fold(col.comment)))
                )
            )
            if not (is_bool or is_flag01) or not col_terms:
                continue
            spelled_value = self._comment_value(col)
            if spelled_value is not None:
                # the column's comment spells its values ("1 = home office, 0 = presencial")
                used.add((table.qualified_name, col.name))
                truth = spelled_value in ("1", "true")
                template = (
                    f"{{a}}{_ident(col.name)} = {spelled_value}"
                    if not is_bool
                    else (f"{{a}}{_ident(col.name)}" if truth else f"NOT {{a}}{_ident(col.name)}")
                )
                out.append(_Filter(table, template, f"{col.name} = {spelled_value}", f"{col.name} = {spelled_value}"))
                continue
            for i, tok in enumerate(self.tokens):
                if tok.term is None:
                    continue
                # "inactive", "inativos", "unavailable", "desativado": the flag's name behind a negating prefix
                unprefixed = _negating_prefix.sub("", tok.word) if not _negating_prefix.match(name) else tok.word
                opposite = (
                    unprefixed != tok.word
                    and len(unprefixed) >= 4
                    and any(_related(t, c) for t in terms(unprefixed) for c in col_terms)
                    and not any(_related(tok.term, c) for c in col_terms if c == tok.term)
                )
                if not opposite and not any(_related(tok.term, c) for c in col_terms):
                    continue
                negated = self._negated_before(i) or opposite
                value = ("false" if negated else "true") if is_bool else ("0" if negated else "1")
                used.add((table.qualified_name, col.name))
                out.append(
                    _Filter(
                        table,
                        f"{{a}}{_ident(col.name)} = {value}"
                        if not is_bool
                        else (f"{{a}}{_ident(col.name)}" if not negated else f"NOT {{a}}{_ident(col.name)}"),
                        f"{col.name} is {'not ' if negated else ''}set",
                        f"{col.name} {'não ' if negated else ''}marcado",
                    )
                )
                break
        return out

    _PENDING = re.compile(
        r"\b(pending|outstanding|unresolved|unfinished|incomplete|still open|open|in progress|pendentes?|"
        r"em aberto|abert[oa]s|em andamento|inacabad[oa]s?|nao resolvid[oa]s?)\b"
    )
    # the column that records an ending: its NULL is the open state ("concluida_em", "closed_at", "resolved_on")
    _ENDING_CONCEPTS = frozenset({"complete", "end", "delivery", "return", "sent", "payment", "cancel"})

    _CURRENT = re.compile(
        r"\b(active|current|currently|still with us|still at the company|still employed|still here|right now|"
        r"today|ativ[oa]s?|atuais|atualmente|hoje|no momento|ainda na empresa|ainda estao|em atividade|headcount|"
        r"quadro atual)\b"
    )

    def _states_itself(self, table: IndexedTable) -> bool:
        """The table has its own column for being active (a flag or a status value), so "active" is read there."""
        for col in table.columns:
            if any("active" in _concepts(t) for t in terms(col.name)):
                return True
        values = [v for vals in allowed_values(table).values() for v in vals]
        values += [v for col in table.columns for v in enum_values(self.index, col.type)]
        return any("active" in _concepts(t) for v in values for t in terms(v))

    def _pending_filter(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """ "pending work orders", "ordens em aberto": rows whose one nullable ending date is still empty; so are
        "active employees", "current staff", "quem está ativo" when nothing else in the table says so
        (data_desligamento IS NULL)."""
        cue = self._PENDING.search(self.folded)
        if cue is not None and re.match(
            r"\s+(?:em|no|na|in|on|during|desde|entre|de|do|da)\s+\S*\d", self.folded[cue.end() :]
        ):
            cue = None  # "tickets abertos em 2024", "opened in March": when it was opened, not still open
        if cue is None and not self._states_itself(table):
            cue = self._CURRENT.search(self.folded)
        if cue is None:
            return []
        ends = [
            col.name
            for col in table.columns
            if col.nullable
            and is_time(col.type)
            and (table.qualified_name, col.name) not in used
            and any(_concepts(t) & self._ENDING_CONCEPTS for t in terms(col.name))
        ]
        if len(ends) != 1:
            return []
        used.add((table.qualified_name, ends[0]))
        k = self._tok_index(cue.start())
        return [
            _Filter(
                table,
                f"{{a}}{_ident(ends[0])} IS NULL",
                f"{ends[0]} is empty (NULL): still open",
                f"{ends[0]} vazio (NULL): ainda em aberto",
                k,
                ends[0],
                state=True,
            )
        ]

    def _null_filters(
        self, table: IndexedTable, used: set[tuple[str, str]], range_span: tuple[int, int] | None
    ) -> list[_Filter]:
        """IS NULL for a nullable column whose meaning is negated ("not returned yet", "ainda não entregues"),
        IS NOT NULL for a nullable date column named by a participle ("shipped orders")."""
        out: list[_Filter] = []
        for col in table.columns:
            if not col.nullable or (table.qualified_name, col.name) in used or col.name in table.primary_key:
                continue
            # a foreign key is another table's business, except one to the table itself ("subjects that have a
            # prerequisite": pre_requisito_id IS NOT NULL)
            if any(col.name in fk.columns and fk.ref_table != table.qualified_name for fk in table.fks_out):
                continue
            col_terms = [
                t for t in terms(col.name) if CONCEPTS.get(t) != "date" and t not in ("date", "data", "at", "em", "id")
            ]
            if not col_terms:
                continue
            # a compound written as one word: "prerequisite" for pre_requisito_id
            joined = stem(re.sub(r"_?(id|at|em|on)$", "", col.name.lower()).replace("_", ""))
            for i, tok in enumerate(self.tokens):
                # "unpaid", "undelivered", "não-pagas": the column's word behind a negating prefix
                bare = _negating_prefix.sub("", tok.word)
                opposite = (
                    bare != tok.word and len(bare) >= 4 and any(_related(t, c) for t in terms(bare) for c in col_terms)
                )
                if tok.term is None or not (
                    opposite
                    or any(_related(tok.term, c) or _same_verb(tok.word, c) for c in col_terms)
                    or (len(col_terms) > 1 and len(tok.term) >= 6 and _related(tok.term, joined))
                ):
                    continue
                if self._negated_before(i) or opposite:
                    used.add((table.qualified_name, col.name))
                    out.append(
                        _Filter(
                            table,
                            f"{{a}}{_ident(col.name)} IS NULL",
                            f"{col.name} is empty (NULL)",
                            f"{col.name} vazio (NULL)",
                            i,
                            col.name,
                        )
                    )
                    break
                before_words = [t.word for t in self.tokens[max(0, i - 2) : i]]
                has_one = bool(before_words) and (
                    before_words[-1] in ("a", "an", "um", "uma", "some", "algum", "alguma")
                    # "that have a prerequisite", "que têm pré-requisito": a verb of having right before
                    or (before_words[-1] in _HAVING and tok.term is not None)
                    or (len(before_words) == 2 and before_words[0] in _HAVING and before_words[1] in ("pre", "a"))
                )
                participle = re.search(r"(ed|ad[oa]s?|id[oa]s?|ues|aram|eram|iram)$", tok.word) is not None
                if (is_time(col.type) and participle and range_span is None) or (
                    # "customers who work for a company", "clientes que têm um telefone": the column is filled
                    has_one and not is_time(col.type) and (i < 2 or self.tokens[i - 2].word not in ("per", "by", "por"))
                ):
                    used.add((table.qualified_name, col.name))
                    out.append(
                        _Filter(
                            table,
                            f"{{a}}{_ident(col.name)} IS NOT NULL",
                            f"{col.name} is set",
                            f"{col.name} preenchido",
                        )
                    )
                    break
        return out

    _CMP = re.compile(
        r"\b(below|under|less than|lower than|smaller than|fewer than|beneath|abaixo d[eoa]s?|"
        r"menor(?:es)? (?:que|do que)|"
        r"menos (?:que|do que)|inferior(?:es)? a|above|over|more than|greater than|higher than|exceeds?|exceeding|"
        r"acima d[eoa]s?|maior(?:es)? (?:que|do que)|mais (?:que|do que)|superior(?:es)? a|excede[mr]?|"
        r"longer than|shorter than|mais long[oa]s? (?:que|do que)|mais curt[oa]s? (?:que|do que)|heavier than|"
        r"lighter than|mais pesad[oa]s? (?:que|do que)|mais leves? (?:que|do que)|"
        r"com mais de|com menos de|with more than|with less than|with fewer than|mais de|menos de)\s+"
    )

    _OR_MORE = re.compile(
        r"\b(\d+(?:[.,]\d+)?)\s*(%|percent|por cento)?\s+(or more|ou mais|and up|or above|or higher|or less|ou menos|"
        r"or below|or lower|no minimo|no maximo)\b"
    )

    def _comparison_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        out: list[_Filter] = []
        for m in self._OR_MORE.finditer(self.folded):
            # "a discount of 50% or more", "desconto de 50% ou mais": >= / <= on the column the words before name
            k = self._tok_index(m.start())
            before = [t.loose for t in self.tokens[max(0, k - 4) : k] if t.loose]
            left = self._column_for(table, before, numeric=True)
            if left is None or (table.qualified_name, left) in used:
                continue
            op = "<=" if re.match(r"(or less|ou menos|or below|or lower|no maximo)", m.group(3)) else ">="
            number = _plain_number(m.group(1))
            if m.group(2) and left in fraction_columns(table):
                number = str(round(float(number) / 100, 6))
            used.add((table.qualified_name, left))
            out.append(
                _Filter(table, f"{{a}}{_ident(left)} {op} {number}", f"{left} {op} {number}", f"{left} {op} {number}")
            )
        for m in self._CMP.finditer(self.folded):
            op = (
                "<"
                if re.match(
                    r"(below|under|less|lower|smaller|fewer|beneath|abaixo|menor|menos|inferior|shorter|mais curt|"
                    r"com menos|with less|with fewer|menos de|lighter|mais leve)",
                    m.group(1),
                )
                else ">"
            )
            after = self._phrase_terms(m.end(), 4)
            before_tok = self._tok_index(m.start())
            before = [t.loose for t in self.tokens[max(0, before_tok - 4) : before_tok] if t.loose]
            if re.match(r"(longer|shorter|mais long|mais curt)", m.group(1)):
                before = ["length", "duration", "duracao", *before]
            if re.match(r"(heavier|lighter|mais pesad|mais leve)", m.group(1)):
                before = ["weight", "peso", *before]
            num = re.match(
                r"\s*(?:r\$|\$|us\$|eur|€)?\s*(\d+(?:[.,]\d+)*)(?![.,]?\d)\s*(%|percent|por cento)?",
                self.folded[m.end() - 1 :],
            )
            if num:
                # the unit after the number may name the column ("more than 150 minutes", "com mais de 3 kg")
                unit = [t for _, t in self._phrase_terms(m.end() - 1 + num.end(), 2)]
                counted = self._count_condition(table, m.end() - 1 + num.end(), op, num.group(1))
                if counted is not None:
                    out.append(counted)
                    continue
                near = [t.loose for t in self.tokens[max(0, before_tok - 2) : before_tok] if t.loose]
                if unit and unit[0] in ("ton", "tonn", "tonelada", "tonne", "kg", "kilo", "quilo", "lb", "pound"):
                    unit = ["weight", "peso", *unit]  # "over 8 tonnes", "mais de 32 kg": the weight column
                money_said = re.match(r"\s*(?:r\$|\$|us\$|eur|€)", self.folded[m.end() - 1 :]) is not None
                priced = (
                    self._column_for(table, [*unit, *near, "price", "preco", "cost", "custo", "valor"], numeric=True)
                    if money_said
                    else None
                )  # "R$ 7,00 o litro": the price per litre, not the litres
                if priced is not None and not any(
                    _concepts(t) & {"price", "cost", "amount", "fee", "payment"} for t in terms(priced)
                ):
                    priced = None
                left = (
                    priced
                    or (self._column_for(table, unit, numeric=True) if unit else None)
                    or (self._column_for(table, near, numeric=True) if near else None)  # the nearest words first
                    or self._column_for(table, before, numeric=True)
                    or self._only_amount(table)
                )
                if left is None:
                    span = self._duration_filter(table, m.end() - 1 + num.end(), op, _plain_number(num.group(1)))
                    if span is not None:
                        out.append(span)
                    continue
                number = _scaled(_plain_number(num.group(1)), self.folded[m.end() - 1 + num.end(1) :])
                if unit and set(unit) & {"ton", "tonn", "tonelada", "tonne"} and re.search(r"kg|quilo", left.lower()):
                    number = str(float(number) * 1000).removesuffix(".0")  # "over 8 tonnes" on peso_kg: 8000
                if num.group(2) and left in fraction_columns(table):
                    number = str(round(float(number) / 100, 6))  # "discount above 10 %" on a 0-1 column: 0.1
                used.add((table.qualified_name, left))
                out.append(
                    _Filter(
                        table,
                        f"{{a}}{_ident(left)} {op} {number}",
                        f"{left} {op} {number}",
                        f"{left} {op} {number}",
                    )
                )
                continue
            left = self._column_for(table, before, numeric=True)
            right = self._column_for(table, [t for _, t in after], numeric=True)
            if right is None:
                continue
            if left is None or left == right:
                others = [
                    c.name
                    for c in table.columns
                    if is_numeric(c.type)
                    and c.name != right
                    and c.name not in table.primary_key
                    and not any(c.name in fk.columns for fk in table.fks_out)
                    and any(
                        CONCEPTS.get(t) in ("stock", "quantity")
                        or t in ("stock", "estoque", "quantity", "quantidade", "saldo")
                        for t in terms(c.name)
                    )
                ]
                left = others[0] if len(others) == 1 else None
            if left is None:
                continue
            used.add((table.qualified_name, left))
            out.append(
                _Filter(
                    table,
                    f"{{a}}{_ident(left)} {op} {{a}}{_ident(right)}",
                    f"{left} {op} {right}",
                    f"{left} {op} {right}",
                )
            )
        return out

    def _count_condition(self, table: IndexedTable, after: int, op: str, number: str) -> _Filter | None:
        """ "customers with more than 30 rentals", "clientes com mais de 30 aluguéis": the rows of ``table`` that
        more (or fewer) than N rows of a table naming it by a foreign key point at."""
        mention = self._mention_after(after, 1)
        if mention is None or mention.table is table or not number.isdigit():
            return None
        fks = [
            fk
            for fk in mention.table.fks_out
            if fk.ref_table == table.qualified_name and len(fk.columns) == 1 and fk.table != fk.ref_table
        ]
        if len(fks) != 1:
            return None
        fk = fks[0]
        other = qualified_ident(mention.table.qualified_name)
        having = f"count(*) {op} {int(number)}"
        if op == "<":  # fewer than N includes none at all
            template = (
                f"{{a}}{_ident(fk.ref_columns[0])} NOT IN (SELECT {_ident(fk.columns[0])} FROM {other} "  # noqa: S608  # nosec B608
                f"WHERE {_ident(fk.columns[0])} IS NOT NULL GROUP BY {_ident(fk.columns[0])} "
                f"HAVING count(*) >= {int(number)})"
            )
        else:
            template = (
                f"{{a}}{_ident(fk.ref_columns[0])} IN (SELECT {_ident(fk.columns[0])} FROM {other} "  # noqa: S608  # nosec B608
                f"GROUP BY {_ident(fk.columns[0])} HAVING {having})"
            )
        words = f"{mention.table.qualified_name} rows {op} {int(number)}"
        return _Filter(table, template, words, f"linhas de {mention.table.qualified_name} {op} {int(number)}")

    def _duration_filter(self, table: IndexedTable, after: int, op: str, number: str) -> _Filter | None:
        """ "stays longer than 10 days", "internações que duraram mais de 10 dias": the row's duration compared."""
        unit_m = re.match(r"\s*([a-z]+)", self.folded[after:])
        if unit_m is None or unit_m.group(1) not in _UNIT_WORDS:
            return None
        pair = duration_columns(table, self.folded)
        if pair is None:
            return None
        unit = _UNIT_WORDS[unit_m.group(1)]
        measure = _Measure(table, pair, f"span:ts:{unit}")
        amount = str(float(number)) if "." in number else number
        end, start = (f"{{a}}{_ident(c)}" for c in pair)
        dates = all((c := table.column(name)) is not None and c.type == "date" for name in pair)
        if dates and unit == "day":
            template = f"{end} - {start} {op} {amount}"  # dates subtract to a number of days
        else:  # an interval compares exactly: "> interval '2 hours'" is not "> 0.083333 days"
            template = f"{end} - {start} {op} interval '{amount} {unit}s'"
        words_ = f"{measure.words('en')} {op} {amount}"
        return _Filter(table, template, words_, f"{measure.words('pt')} {op} {amount}")

    def _only_amount(self, table: IndexedTable) -> str | None:
        """The table's one money column ("payments over 5.00": amount), when a number names no column."""
        found = [m.columns[0] for _, m in self._money_measures() if m.table is table and m.kind == "column"]
        return found[0] if len(found) == 1 else None

    # -- values the question names (the index's value index: pg_stats common values and enum labels) -------------

    _VALUE_SCORE = 0.7

    def index_values(self) -> list[tuple[str, str, str, float]]:
        """(table, column, value, score) for the data values the question names, best first."""
        return [v[:4] for v in self._index_values()]

    def _index_values(self) -> list[tuple[str, str, str, float, frozenset[int]]]:
        """The values with the question words each one uses (one word names one value: "Brazil" is the country,
        not also the city "Brasília")."""
        if self._values is None:
            found: list[tuple[str, str, str, float, frozenset[int]]] = []
            finder = getattr(self.index, "values_for", None)
            free = self._free_words()
            if finder is not None and free:
                free_keys = analyse(" ".join(free))
                for m in finder(" ".join(free)) or ():
                    score = float(getattr(m, "score", 1.0))
                    if score < self._VALUE_SCORE or not _populated_name(self.index, m.table):
                        continue
                    used_keys = _names_value(free_keys, m.value)
                    if used_keys:
                        found.append((m.table, m.column, m.value, score, used_keys))
            found.sort(key=lambda x: -x[3])
            self._values = found
        return self._values

    def _free_words(self) -> list[str]:
        """The question's words that name no table and no group: where a data value may stand."""
        taken: set[int] = set()
        for m in self.mentions:
            taken.update(range(m.first, m.last + 1))
        for g in _GROUP.finditer(self.folded):
            if _is_agent(self, g):
                continue
            k = self._tok_index(g.end())
            taken.update(range(k, k + 2))
        return [t.word for i, t in enumerate(self.tokens) if i not in taken]

    def _data_value_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """col = 'value' for a value found in the column's statistics ("customers from Brazil"), on the table
        itself or on a table it references ("tracks in the Rock genre": genre_id IN (SELECT ... name = 'Rock'))."""
        out: list[_Filter] = []
        taken_values: set[str] = set()
        consumed: set[int] = set()
        ordered = sorted(self._index_values(), key=lambda v: (-v[3], v[0] != table.qualified_name))
        for qn, column, value, _score, keys in ordered:
            if (qn, column) in used or fold(value) in taken_values | self._named_values or keys & consumed:
                continue
            if qn == table.qualified_name and self._measured_value(table, value):
                continue
            if qn == table.qualified_name:
                if table.column(column) is None:
                    continue
                used.add((qn, column))
                taken_values.add(fold(value))
                consumed |= keys
                out.append(
                    _Filter(
                        table,
                        f"{{a}}{_ident(column)} = {_literal(value)}",
                        f"{column} = '{value}'",
                        f"{column} = '{value}'",
                    )
                )
                continue
            pair = [fk for fk in table.fks_out if fk.ref_table == qn and len(fk.columns) == 1]
            if len(pair) >= 2:
                # two keys to one table ("GRU to LIS flights", "voos de GRU para Lisboa"): the value's direction
                at = _spelled(fold(value).strip()).search(self.folded)
                fk = self._directed_key(pair, self._tok_index(at.start()) if at else -1, used, table)
                if fk is None:
                    continue
                used.add((table.qualified_name, fk.columns[0]))
                taken_values.add(fold(value))
                consumed |= keys
                inner = f"{_ident(column)} = {_literal(value)}"
                directed = (
                    f"{{a}}{_ident(fk.columns[0])} IN (SELECT {_ident(fk.ref_columns[0])} "  # noqa: S608  # nosec B608
                    f"FROM {qualified_ident(qn)} WHERE {inner})"
                )
                said = f"{fk.columns[0]} → {qn}.{column} = '{value}'"
                out.append(_Filter(table, directed, said, said))
                continue
            cond = _lookup_condition(self.index, table, qn, f"{_ident(column)} = {_literal(value)}")
            if cond is None:
                continue
            used.add((qn, column))
            taken_values.add(fold(value))
            consumed |= keys
            out.append(_Filter(table, cond, f"{qn}.{column} = '{value}'", f"{qn}.{column} = '{value}'"))
        return out

    _FROM_WORDS = frozenset({"from", "de", "do", "da", "origem", "saindo", "partindo", "leaving", "out"})
    _TO_WORDS = frozenset({"to", "para", "destino", "chegando", "arriving", "into", "rumo", "pra", "a"})
    _FROM_COLUMN = re.compile(r"(origin|orig|from|source|src|origem|partida|departure|saida|sender|remetente)")
    _TO_COLUMN = re.compile(r"(destination|dest|to_|target|destino|chegada|arrival|recipient|destinatario)")

    def _directed_key(
        self, fks: Sequence[ForeignKeyEdge], k: int, used: set[tuple[str, str]], table: IndexedTable
    ) -> ForeignKeyEdge | None:
        """Which of two keys to one table a value belongs to: the word before it ("from"/"de" -> origin, "to"/"para"
        -> destination), else the first free one in declaration order (origin before destination)."""
        position = {c.name: k for k, c in enumerate(table.columns)}
        free = sorted(
            (fk for fk in fks if (table.qualified_name, fk.columns[0]) not in used),
            key=lambda fk: position.get(fk.columns[0], 1_000),
        )
        if not free:
            return None
        before = {t.word for t in self.tokens[max(0, k - 2) : k]} if k > 0 else set()
        if before & self._TO_WORDS and not before & {"from", "de", "origem"}:
            wanted = self._TO_COLUMN
        elif before & self._FROM_WORDS:
            wanted = self._FROM_COLUMN
        else:
            return free[0]
        return next((fk for fk in free if wanted.search(fk.columns[0].lower())), free[0])

    _CMP_DATE = re.compile(
        r"\b(after|later than|past|before|earlier than|prior to|depois d[eoa]s?|apos (?:[oa]s? )?|"
        r"antes d[eoa]s?|alem d[eoa]s?)\s*"
    )

    def _date_comparison_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """One date column compared with another of the same table ("paid after their due date", "pagas depois
        do vencimento"): the column named after the cue, and the one named before it."""
        times = [c for c in table.columns if is_time(c.type)]
        if len(times) < 2:
            return []
        out: list[_Filter] = []
        for m in self._CMP_DATE.finditer(self.folded):
            if re.match(
                r"\s*(\d|" + _MONTH + r"\b|(?:(?:last|this|next|the|o|a)\s+)?(?:week|month|year|mes|ano|day|dia))",
                self.folded[m.end() :],
            ):
                continue  # a date range ("after 2022-01-01", "before March"), not another column
            after = [t for _, t in self._phrase_terms(m.end(), 3)]
            right = self._time_column_for(table, after)
            if right is None:
                continue
            k = self._tok_index(m.start())
            own = self.own_tokens(table)
            # the words nearest the cue name the column ("orders shipped after": shipped, not orders)
            before = [t.loose for i, t in enumerate(self.tokens[max(0, k - 4) : k], max(0, k - 4)) if t.loose]
            before = [t for i, t in zip(range(k - len(before), k), before, strict=True) if i not in own] or before
            left = self._time_column_for(table, before, exclude=right)
            if left is None:
                nullable = [c.name for c in times if c.nullable and c.name != right]
                left = nullable[0] if len(nullable) == 1 else None
            if left is None:
                continue
            op = ">" if re.match(r"(after|later|past|depois|apos|alem)", m.group(1)) else "<"
            used.add((table.qualified_name, left))
            used.add((table.qualified_name, right))
            out.append(
                _Filter(
                    table,
                    f"{{a}}{_ident(left)} {op} {{a}}{_ident(right)}",
                    f"{left} {op} {right}",
                    f"{left} {op} {right}",
                )
            )
        return out

    def _time_column_for(self, table: IndexedTable, phrase: Sequence[str], exclude: str | None = None) -> str | None:
        best: tuple[float, str] | None = None
        for col in table.columns:
            if not is_time(col.type) or col.name == exclude:
                continue
            col_terms = [t for t in _column_terms(col.name) if t not in ("at", "em", "on", "dat", "date", "data")]
            col_terms = col_terms or _column_terms(col.name)
            hit = sum(any(_related(p, c) for p in phrase) for c in col_terms)
            if hit and (best is None or hit / len(col_terms) > best[0]):
                best = (hit / len(col_terms), col.name)
        return best[1] if best else None

    def own_tokens(self, table: IndexedTable) -> set[int]:
        """The question's tokens that name ``table`` itself: they say which rows, not which column."""
        return {k for m in self.mentions if m.table is table for k in range(m.first, m.last + 1)}

    def hint(self, table: IndexedTable) -> list[str]:
        """The question's words that may name a column of ``table`` (its own name left out)."""
        own = self.own_tokens(table)
        return [t.loose for k, t in enumerate(self.tokens) if t.loose and k not in own]

    def filters(
        self, table: IndexedTable, used: set[tuple[str, str]], range_span: tuple[int, int] | None
    ) -> list[_Filter]:
        return [
            *self._comment_filters(table, used),  # first: a phrase a comment spells is the most specific
            *self._key_filters(table, used),
            *self._value_filters(table, used),
            *self._data_value_filters(table, used),
            *self._date_comparison_filters(table, used),
            *self._comparison_filters(table, used),
            *self._flag_filters(table, used),
            *self._null_filters(table, used, range_span),
            *self._pending_filter(table, used),
            *self._late_filter(table, used),
        ]

    def _key_filters(self, table: IndexedTable, used: set[tuple[str, str]]) -> list[_Filter]:
        """``store_id = 1`` for "of store 1", "da loja nº 1": a referenced table named with a number after it
        is a row of it, picked by the foreign key's column."""
        out: list[_Filter] = []
        for m in self.mentions:
            if m.table is table or m.last + 1 >= len(self.tokens):
                continue
            k = m.last + 1
            if self.tokens[k].word in ("id", "no", "n", "numero", "number", "code", "codigo") and k + 1 < len(
                self.tokens
            ):
                k += 1
            if not self.tokens[k].word.isdigit():
                continue
            fks = [fk for fk in table.fks_out if fk.ref_table == m.table.qualified_name and len(fk.columns) == 1]
            if len(fks) != 1 or (table.qualified_name, fks[0].columns[0]) in used:
                continue
            col = fks[0].columns[0]
            used.add((table.qualified_name, col))
            number = str(int(self.tokens[k].word))
            out.append(_Filter(table, f"{{a}}{_ident(col)} = {number}", f"{col} = {number}", f"{col} = {number}", k))
        return out

    def date_filter(
        self, table: IndexedTable, rng: _Range, *, through: bool = False, avoid: Sequence[_Filter] = ()
    ) -> _Filter | None:
        """The range on the table's time column; with ``through``, on the time column of a table it references
        when it has none (order lines dated by their order: ``order_id IN (SELECT id FROM orders WHERE ...)``)."""
        taken = [f.null_column for f in avoid if f.table is table and f.null_column]  # "not shipped yet": ship date
        col = time_column(table, self.hint(table), taken)
        if col is None:
            own_year = _year_condition(table, rng, "{a}")
            if own_year is not None:
                return _Filter(table, own_year[0], own_year[1], own_year[1])
            if not through:
                return None
            # a referenced table's year column (the class's year) is the period of the row before another
            # table's date (the enrolled employee's hiring date)
            by_year = sorted(
                table.fks_out,
                key=lambda fk: (
                    (t := self.index.by_name.get(fk.ref_table)) is None or _year_condition(t, rng, "") is None
                ),
            )
            for fk in by_year:
                ref = self.index.by_name.get(fk.ref_table)
                if ref is None or ref is table or not _populated(ref):
                    continue
                ref_year = _year_condition(ref, rng, "")
                rcol = time_column(ref, self.hint(ref)) if ref_year is None else None
                if rcol is None and ref_year is None:
                    continue
                inner = _range_sql(_ident(rcol), rng) if rcol is not None else ref_year[0]  # type: ignore[index]
                cond = _lookup_condition(self.index, table, ref.qualified_name, inner)
                if cond is not None:
                    return _Filter(
                        table, cond, f"{ref.qualified_name}.{rcol} {rng.en}", f"{ref.qualified_name}.{rcol} {rng.pt}"
                    )
            return None
        return _Filter(table, _range_sql(f"{{a}}{_ident(col)}", rng), f"{col} {rng.en}", f"{col} {rng.pt}")

    # -- the plan --------------------------------------------------------------------------------------

    def candidates(self) -> tuple[str, ...]:
        found = [m.table.qualified_name for m in self.mentions]
        found += [
            m.table.qualified_name
            for m in self.index.search(self.question, limit=5, neighbours=False)
            if _populated(m.table)
        ]
        if not found:  # nothing named: the biggest tables, so the user sees what there is to ask about
            biggest = sorted(self.tables, key=lambda t: -(t.estimated_rows or 0))
            found = [t.qualified_name for t in biggest if t.kind in ("table", "partitioned_table")]
        return tuple(dict.fromkeys(found))[:5]

    def unplanned(self, en: str, pt: str) -> Unplanned:
        return Unplanned(en, pt, self.candidates())


def _range_sql(expr: str, rng: _Range) -> str:
    parts = []
    if rng.lo != "'-infinity'":
        parts.append(f"{expr} >= {rng.lo}")
    if rng.hi != "'infinity'":
        parts.append(f"{expr} < {rng.hi}")
    return " AND ".join(parts)


def mentioned_tables(index: SchemaIndex, question: str) -> list[IndexedTable]:
    """The distinct tables a question names by their words (stems, the vocabulary's synonyms), left to right."""
    out: list[IndexedTable] = []
    for m in _Planner(index, question, ()).mentions:
        if m.table not in out:
            out.append(m.table)
    return out


_THOUSANDS = re.compile(r"\s*(k|mil|thousand|million|milhoes|milhao|mi|m)\b")


def _scaled(number: str, after: str) -> str:
    """ "R$ 10k", "10 mil reais", "2 million": the number times its written multiplier."""
    m = _THOUSANDS.match(after)
    if m is None:
        return number
    factor = 1000 if m.group(1) in ("k", "mil", "thousand") else 1_000_000
    value = float(number) * factor
    return str(int(value)) if value.is_integer() else str(value)


def _plain_number(text: str) -> str:
    """A number as written in either language, as SQL reads it: "5,00" and "5.00" are 5.00, "1.000" (R$ 1.000)
    and "1,000" are 1000, "1.250,50" and "1,250.50" are 1250.50 (a separator before exactly three digits
    groups thousands; the last other one is the decimal point)."""
    parts = re.split(r"[.,]", text)
    if len(parts) == 1:
        return text
    seps = re.findall(r"[.,]", text)
    if len(set(seps)) == 2:  # both: the last one is the decimal point
        return "".join(parts[:-1]) + "." + parts[-1]
    if parts[0] not in ("", "0") and all(len(part) == 3 for part in parts[1:]):
        return "".join(parts)
    return "".join(parts[:-1]) + "." + parts[-1]


@functools.lru_cache(maxsize=4096)
def _spelled(folded_value: str) -> re.Pattern[str]:
    """A value as a question writes it: "no-shows", "no shows" name 'no_show'; "in progress" names
    'in_progress'; a whole word, never part of a longer one ("PG-13" is not "PG")."""
    spelled = r"[\s_-]?".join(re.escape(part) for part in re.split(r"[\s_-]+", folded_value))
    plural = r"(?:e?s)?" if re.search(r"[_\s-]", folded_value) else ""
    return re.compile(r"(?<![a-z0-9-])" + spelled + plural + r"(?![a-z0-9]|-[a-z0-9])")


def _table_holding_value(p: _Planner) -> IndexedTable | None:
    """The one table whose CHECK or enum values the question spells out ("how many no-shows in 2023?":
    appointments.status = 'no_show'), when no table is named."""
    found: list[IndexedTable] = []
    for table in p.tables:
        if table.kind not in ("table", "partitioned_table"):
            continue
        values = [v for vals in allowed_values(table).values() for v in vals]
        values += [v for col in table.columns for v in enum_values(p.index, col.type)]
        if any(len(fold(v)) > 3 and _spelled(fold(v).strip()).search(p.folded) for v in values):
            found.append(table)
    return found[0] if len(found) == 1 else None


def _adjective_of_column(p: _Planner, bucket: re.Match[str]) -> bool:
    """ "a monthly fee above R$ 1,000", "mensalidade anual": the adjective and the noun after it name a column of a
    table of the question (a fee charged monthly), not a grouping by month."""
    if not re.fullmatch(r"[a-z]+(?:ly|al|ais)", bucket.group(0)):
        return False
    after = [t for _, t in p._phrase_terms(bucket.end(), 2)]
    if not after:
        return False
    words_ = [stem(bucket.group(0)), after[0]]
    return any(
        p._column_for(m.table, words_, numeric=True) is not None or p._column_for(m.table, after[:1], numeric=True)
        for m in p.mentions
    )


_YEAR_COLUMN = re.compile(
    r"^(year|ano|ciclo|cycle|exercicio|fiscal_year|season|temporada|safra)$|_(year|ano)$|^(year|ano)_"
)


def _year_condition(table: IndexedTable, rng: _Range, prefix: str) -> tuple[str, str] | None:
    """ "in 2023" on a table that records its year as a number (turmas.ano, avaliacoes.ciclo): ``ano = 2023``, when
    the range is whole years."""
    lo = re.fullmatch(r"DATE '(\d{4})-01-01'", rng.lo)
    hi = re.fullmatch(r"DATE '(\d{4})-01-01'", rng.hi)
    if lo is None or hi is None:
        return None
    for col in table.columns:
        if col.type in ("integer", "smallint", "bigint") and _YEAR_COLUMN.search(col.name.lower()):
            first, last = int(lo.group(1)), int(hi.group(1)) - 1
            expr = f"{prefix}{_ident(col.name)}"
            if first == last:
                return f"{expr} = {first}", f"{col.name} = {first}"
            return f"{expr} BETWEEN {first} AND {last}", f"{col.name} {first}–{last}"
    return None


def _self_referencing_table(p: _Planner) -> IndexedTable | None:
    """The table whose key to itself the question names ("manager" for gestor_id), or the only one with such a key."""
    selfish = [
        (t, fk)
        for t in p.tables
        if t.kind in ("table", "partitioned_table")
        for fk in t.fks_out
        if fk.ref_table == t.qualified_name and len(fk.columns) == 1
    ]
    named = [
        t
        for t, fk in selfish
        if any(tok.term and _related(tok.term, c) for tok in p.tokens for c in terms(fk.columns[0]))
    ]
    if len(named) == 1:
        return named[0]
    return selfish[0][0] if len(selfish) == 1 else None


def _table_with_column(p: _Planner, words_: Sequence[str]) -> IndexedTable | None:
    """The base table with the numeric column the words name best ("highest-paid": the salary); a fact copying
    the entity's column (payslips keep the salary too) gives way to the entity it points at."""
    scored = [
        (found[0], t)
        for t in p.tables
        if t.kind in ("table", "partitioned_table")
        and (found := p._column_score(t, list(words_), numeric=True)) is not None
    ]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    found_tables = [t for score, t in scored if score == best]
    names = {t.qualified_name for t in found_tables}
    entities = [t for t in found_tables if not any(fk.ref_table in names - {t.qualified_name} for fk in t.fks_out)]
    return entities[0] if len(entities) == 1 else None


def _same_stem(a: str, b: str) -> bool:
    """The same word up to its ending ("desligamentos" and "desligamento"), never a synonym."""
    short, long_ = sorted((a, b), key=len)
    return a == b or (len(short) >= 5 and long_.startswith(short) and len(long_) - len(short) <= 3)


def _table_dating_word(p: _Planner) -> IndexedTable | None:
    """ "quantos desligamentos tivemos em 2023?": no table named, but one table's time column is named by a word of
    the question (data_desligamento): its rows are what is counted or listed."""
    found: list[IndexedTable] = []
    for table in p.tables:
        if table.kind not in ("table", "partitioned_table"):
            continue
        for col in table.columns:
            col_terms = [t for t in terms(col.name) if CONCEPTS.get(t) != "date" and t not in ("date", "data", "at")]
            if (
                is_time(col.type)
                and col_terms
                and any(tok.term and any(_same_stem(tok.term, c) for c in col_terms) for tok in p.tokens)
            ):
                found.append(table)
                break
    return found[0] if len(found) == 1 else None


def _not_comparison(rx: re.Pattern[str], folded: str) -> re.Match[str] | None:
    """The first match of a "most"/"fewest" cue that is not a comparison with a number ("com mais de 150
    minutos", "more than 3 orders" filter rows; "with the most orders" ranks them)."""
    for m in rx.finditer(folded):
        if re.search(r"\b(?:or|ou)\s+$", folded[: m.start()]):
            continue  # "50% ou mais", "10 or more": a bound, not a ranking
        if not re.match(r"(?:de |do que |que |than |of )?[$€]?\d", folded[m.end() :]):
            return m
    return None


def plan_question(
    index: SchemaIndex, question: str, history_tables: Sequence[str] = ()
) -> QueryPlan | Unplanned | None:
    """The SELECT that computes what ``question`` asks, an :class:`Unplanned` when it asks for a computation whose
    parts are not all found in the catalog, or None when it is not an analytical question (left to other
    answers: which table, describe, join, plain list)."""
    p = _Planner(index, question, history_tables)
    f = p.folded
    rng = date_range(f)
    limit_m = _TOP.search(f)
    limit = _number(limit_m.group(1)) if limit_m else None
    top_bare = _TOP_BARE.search(f) is not None
    most = _not_comparison(_MOST, f)
    fewest = _not_comparison(_FEWEST, f)
    superlative = next(((rx.search(f), words, desc) for rx, words, desc in _SUPERLATIVES if rx.search(f)), None)
    count_m = _COUNT.search(f)
    agg_m = None
    agg = None
    for name, rx in (("avg", _AVG), ("min", _MIN), ("max", _MAX), ("sum", _SUM)):
        m = rx.search(f)
        if m and (agg_m is None or m.start() < agg_m.start()):
            agg, agg_m = name, m
    if agg_m is not None and (
        _cue_names_a_column(p, agg_m) or p._CMP.match(f, agg_m.end() + 1) or p._CMP.match(f, agg_m.end())
    ):
        agg, agg_m = None, None  # "estoque mínimo", "total above 20": a column's name, not an aggregate
    if (
        count_m is not None
        and agg_m is not None
        and agg in ("avg", "sum", "min", "max")
        and 0 <= count_m.start() - agg_m.end() <= 4
    ):
        # "average number of affected customers": a numeric column named "affected customers", not a count
        after_count = [t for _, t in p._phrase_terms(count_m.end(), 3)]
        found_count = p.measure_anywhere(after_count, None)
        if found_count is not None and len(found_count.columns[0].split("_")) > 1:
            count_m = None
    if agg in ("max", "min") and agg_m is not None and _MONEY.match(f, agg_m.end() + 1):
        # "the 3 categories with the highest revenue": a ranking by the summed revenue, not max(amount)
        if agg == "min" and fewest is None:
            fewest = agg_m
        agg, agg_m = None, None
    money = _MONEY.search(f) or _PAID_MOST.search(f) or _HOW_MUCH.search(f)
    if money is not None and re.match(_COMPARED_AFTER, f[money.end() :]):
        money = None  # "tickets sold for more than 4,500": a price compared, not revenue summed
    if money is not None and most is None and fewest is None:
        # "qual filme gerou o maior faturamento?": "maior"/"menor" before the money word ranks
        big = re.search(r"\b(?:o |a )?(maior(?:es)?|menor(?:es)?|highest|lowest|biggest|largest)\s+(?=\w+)", f)
        if big is not None and _MONEY.match(f, big.end()):
            if big.group(1).startswith(("menor", "lowest")):
                fewest = big
            else:
                most = big
    anti = _ANTI.search(f)
    neg_verb = _NEG_VERB.search(f)
    group_m = None
    for m in _GROUP.finditer(f):
        if _SORT.search(f[max(0, m.start() - 12) : m.end()]):
            continue
        if re.search(r"\d\s*$", f[: m.start()]) or re.match(r"(?:unit|unidade|item|piece|peca)\b", f[m.end() :]):
            continue  # "20 per unit", "R$ 5 por unidade": a rate, not a group
        if _is_agent(p, m):
            continue  # "caused by vegetation", "causadas por chuva": who or what did it, a filter
        group_m = m
        break
    sort_m = _SORT.search(f)
    latest = _LATEST.search(f) is not None
    bucket: str | None = None
    bucket_m: re.Match[str] | None = None
    for unit, rx in _BUCKETS:
        found_bucket = rx.search(f)
        if found_bucket is not None and not _adjective_of_column(p, found_bucket):
            bucket, bucket_m = unit, found_bucket
            break
    if bucket_m is not None and group_m is not None and bucket_m.start() <= group_m.start() < bucket_m.end():
        # the group cue belongs to the bucket ("per year"): another one may name a real group ("by country")
        group_m = next(
            (
                m
                for m in _GROUP.finditer(f)
                if not (bucket_m.start() <= m.start() < bucket_m.end())
                and not _SORT.search(f[max(0, m.start() - 12) : m.end()])
            ),
            None,
        )

    first_table = subject_first(p)
    if (
        first_table is not None
        and _WHEN.search(f)
        and (latest or _EARLIEST.search(f))
        and limit is None
        and not (count_m or group_m or anti or bucket)
    ):
        # "when was the latest invoice issued?", "qual a data da fatura mais recente?": one date, not rows.
        hint = [t.loose for t in p.tokens if t.loose]
        tcol = time_column(first_table, hint)
        if tcol is not None:
            used_w: set[tuple[str, str]] = set()
            flts_w = p.filters(first_table, used_w, rng.span if rng else None)
            if rng is not None and (dfw := p.date_filter(first_table, rng)) is not None:
                flts_w.append(dfw)
            return _extreme_date_plan(p, first_table, tcol, flts_w, newest=latest)

    latest_table = subject_first(p) or (
        found.table if latest and (found := _searched_mention(p, 0)) is not None else None
    )  # "our 5 most recent hires": the table the words name by a synonym or a column
    if latest and latest_table is not None and not (count_m or agg_m or group_m or anti or bucket):
        # "the 5 most recent invoices", "os 3 funcionários admitidos mais recentemente": newest rows first.
        table = latest_table
        used0: set[tuple[str, str]] = set()
        flts = p.filters(table, used0, rng.span if rng else None)
        if rng is not None and (df0 := p.date_filter(table, rng)) is not None:
            flts.append(df0)
        return _list_plan(p, table, flts, latest=True)

    analytic = bool(
        count_m or agg_m or money or anti or group_m or limit or top_bare or most or superlative or sort_m or bucket
    )
    not_sold = next((m for m in _NOT_SOLD.finditer(f) if _MONEY.fullmatch(m.group(2))), None)
    neg_money = not_sold is not None
    if not_sold is not None and neg_verb is None:
        neg_verb = not_sold
    analytic = analytic or neg_money or (neg_verb is not None and p._mention_after(neg_verb.start(2), 5) is not None)

    # Roles: the group (after per/by/por), the ranked entity (after top N), the anti-join's other side.
    used_mentions: set[int] = set()
    group_table: IndexedTable | None = None
    group_col: tuple[IndexedTable, str] | None = None
    group_phrase: list[str] = []
    by_measure = False
    if group_m is not None:
        phrase = [t for _, t in p._phrase_terms(group_m.end(), 3)]
        group_phrase = phrase
        after_by = f[group_m.end() : group_m.end() + 40]
        if group_m.group(0).strip().startswith(("by", "por")) and (
            _MONEY.match(after_by)
            or re.match(r"(number of|count of|total|amount|quantity|numero de|quantidade de|total de)\b", after_by)
        ):
            by_measure = True  # "top 10 customers by revenue": a measure, not a group
        else:
            mention = p._mention_after(group_m.end(), 2)
            if mention is not None:
                group_table = mention.table
                used_mentions.add(id(mention))

    anti_other: _Mention | None = None
    anti_pos: int | None = None
    for neg in sorted((m for m in (anti, neg_verb) if m is not None), key=lambda m: m.start()):
        if anti_pos is None:
            anti_pos = neg.start()
        anti_other = anti_other or p._mention_after(neg.start(2) if neg is neg_verb else neg.end(), 5)

    rank_of: _Mention | None = None  # "with the most X": X is counted per ranked entity
    if most is not None and not superlative:
        rank_of = p._mention_after(most.end(), 2)
    if fewest is not None and rank_of is None:
        rank_of = p._mention_after(fewest.end(), 2)
    if most is not None and rank_of is None and not superlative and not money:
        rank_of = _verb_table(p, most)
        if rank_of is None and not _SUBORDINATES.search(f):
            # "os 5 treinamentos com mais inscritos": what is counted, named by a synonym or a comment
            found_after = _searched_mention(p, most.end())
            if found_after is not None and all(found_after.table is not m.table for m in p.mentions):
                rank_of = found_after
    if by_measure and group_m is not None and rank_of is None:
        m2 = re.match(
            r"(?:number of|count of|quantity of|total(?: number of)?|numero de|quantidade de|total de)\s+",
            f[group_m.end() :],
        )
        if m2:
            rank_of = p._mention_after(group_m.end() + m2.end(), 2) or _searched_mention(p, group_m.end() + m2.end())
            if (
                rank_of is not None
                and re.match(r"total (?!number)", m2.group(0))
                and any(m.table is rank_of.table for _, m in p._money_measures())
            ):
                rank_of = None  # "by total payments": the payments' amount summed, not counted

    subject_mentions = [
        m for m in p.mentions if id(m) not in used_mentions and m is not anti_other and m is not rank_of
    ]
    if (
        len(subject_mentions) >= 2
        and subject_mentions[1].first == subject_mentions[0].last + 1
        and not any(0 <= k < len(p.tokens) and p.tokens[k].word.isdigit() for k in (subject_mentions[0].last,))
    ):
        # "subject enrollments", "customer orders": an English noun before a noun describes it; the last is the head
        subject_mentions = [subject_mentions[1], subject_mentions[0], *subject_mentions[2:]]
    subject: IndexedTable | None = subject_mentions[0].table if subject_mentions else None

    if subject is None and not p.history:
        subject = _table_holding_value(p) or _table_dating_word(p)
    if subject is None and not p.history and _SUBORDINATES.search(f):
        subject = _self_referencing_table(p)  # "which manager has the most direct reports?"
    if subject is None and not p.history and superlative is not None:
        subject = _table_with_column(p, superlative[1])  # "top 5 highest-paid people": the table with the salary
    if subject is None and not p.history:
        # No table named by its own name ("outages" for a table whose comment says so): the table retrieval finds
        # clearly (most words of the question in its name, columns or comment, or a value it holds).
        top = p.index.search(p.question, limit=2, neighbours=False)
        if top and _populated(top[0].table):
            holds_value = any(v[0] == top[0].table.qualified_name and v[3] >= 0.9 for v in p.index_values())
            clear = len(top) == 1 or top[1].score < 0.8 * top[0].score
            if holds_value or (clear and top[0].coverage >= 0.5):
                subject = top[0].table
    if (
        anti_other is not None
        and subject is not None
        and p.index.join_path(subject.qualified_name, anti_other.table.qualified_name) is None
    ):
        anti_other = None  # a verb naming a table the subject has no link to ("compraram" in another schema)
        analytic = bool(
            count_m or agg_m or money or anti or group_m or limit or top_bare or most or superlative or sort_m
        ) or bool(bucket or neg_money)
    if anti_pos is not None and anti_other is None and subject is not None:
        # the other side of "never had a work order", named by a comment or a synonym rather than its name
        rest = p.folded[anti_pos:]
        top = p.index.search(rest, limit=2, neighbours=False)
        if (
            top
            and top[0].table is not subject
            and _populated(top[0].table)
            and top[0].coverage >= 0.5
            and (len(top) == 1 or top[1].score < 0.8 * top[0].score)
            and p.index.join_path(subject.qualified_name, top[0].table.qualified_name) is not None
            and _referencing_fact(p, subject, rng) is None
        ):
            anti_other = _Mention(len(p.tokens), len(p.tokens), top[0].table)
    if (most or limit) and anti_pos is None and subject is not None and _SUBORDINATES.search(f):
        # "which manager has the most direct reports?": rows counted by the table's key to itself
        self_rank = _self_rank_plan(p, subject, rng, limit=limit or 1)
        if self_rank is not None:
            return self_rank
    if anti_pos is not None and subject is not None and _SUBORDINATES.search(f):
        self_plan = _self_anti_plan(p, subject, count=bool(count_m))
        if self_plan is not None:
            return self_plan
    if not analytic:
        # Filtered lists: "films rated PG-13", "discontinued products", "rentals not returned yet", "orders in 1998".
        if subject is None:
            return None
        used: set[tuple[str, str]] = set()
        filters = p.filters(subject, used, rng.span if rng else None)
        if rng is not None:
            df = p.date_filter(subject, rng, through=True, avoid=filters)
            if df is not None:
                filters.append(df)
        if not filters:
            return None
        return _list_plan(p, subject, filters, latest=latest)

    # Anti-join: subject [never|without|sem|não ... nada] other.
    if anti_pos is not None and subject is not None and (anti is not None or anti_other is not None or neg_money):
        used = set()
        pre = p.filters(subject, used, rng.span if rng else None)
        null_like = [flt for flt in pre if "IS NULL" in flt.template and not flt.state]
        if null_like and anti_other is not None and any(0 <= flt.pos <= anti_other.first for flt in null_like):
            anti_other = None  # "tracks with no composer": a nullable column of the subject, not another table
        if null_like and anti_other is None:
            if rng is not None and (dated := p.date_filter(subject, rng, avoid=pre)) is not None:
                pre.append(dated)  # "patients with no insurance born before 1960"
            return _list_plan(p, subject, pre, count=bool(count_m), latest=latest)
        other = anti_other.table if anti_other is not None else _referencing_fact(p, subject, rng)
        if other is None or other is subject:
            return p.unplanned(
                f"I could not build this query with confidence: I found {subject.qualified_name}, but not which "
                "related table the negation ('never', 'without') is about.",
                f"Não consegui montar esta consulta com confiança: achei {subject.qualified_name}, mas não qual "
                "tabela relacionada a negação ('nunca', 'sem') indica.",
            )
        path = p.index.join_path(subject.qualified_name, other.qualified_name)
        if path is None:
            return p.unplanned(
                f"I could not build this query with confidence: no foreign-key path links {subject.qualified_name} "
                f"and {other.qualified_name}.",
                f"Não consegui montar esta consulta com confiança: nenhum caminho de chaves estrangeiras liga "
                f"{subject.qualified_name} e {other.qualified_name}.",
            )
        inner = [flt for flt in p.filters(other, set(), rng.span if rng else None) if "IS NULL" not in flt.template]
        if rng is not None:
            df = p.date_filter(other, rng, through=True)
            if df is not None:
                inner.append(df)
        outer = [flt for flt in pre if flt.table is subject]
        return _anti_plan(p, subject, path, inner, outer, count=bool(count_m))

    rank_by = _RANK_BY.search(f)
    if rank_by is not None and subject is not None and rank_of is None and group_table is None and not count_m:
        # "the 5 meters with the highest consumption in 2025", "os 5 medidores com maior consumo": entities ranked
        # by a measure (summed when it lives in a table that references them).
        after_rank = [t for _, t in p._phrase_terms(rank_by.end(), 3)]
        # "with the highest average grade", "com a maior média de notas": averaged; "highest total billed": summed
        rank_agg_m = re.match(r"(average|avg|mean|media|medio|total|sum|soma)\s+(?:de\s+|of\s+)?", f[rank_by.end() :])
        rank_agg = "avg" if rank_agg_m and not rank_agg_m.group(1).startswith(("total", "sum", "soma")) else "sum"
        measure_at = rank_by.end() + (rank_agg_m.end() if rank_agg_m else 0)
        named_table = p._mention_after(measure_at, 0) if rank_agg_m else None
        if (p._mention_after(rank_by.end(), 1) is None or named_table is not None) and after_rank:
            ranked_measure = (
                (p._named_measure(after_rank, [named_table.table]) if named_table is not None else None)
                or p._named_measure(after_rank, [subject])
                or p.measure_anywhere(after_rank, subject)
            )
            if ranked_measure is None and (_MONEY.match(f, measure_at) or set(after_rank) & _AMOUNT_WORDS):
                ranked_measure = p._closest(p._money_measures(), subject)
            desc_rank = bool(re.match(r"(highest|largest|biggest|greatest|maior)", rank_by.group(1)))
            if ranked_measure is not None and ranked_measure.table is subject:
                return _rank_rows_plan(
                    p,
                    subject,
                    ranked_measure.columns[0],
                    _all_filters(p, subject, None, rng),
                    limit=limit or 1,
                    desc=desc_rank,
                )
            if ranked_measure is not None:
                fact_r = ranked_measure.table
                return _group_plan(
                    p,
                    fact_r,
                    ranked_measure,
                    rank_agg,
                    subject,
                    None,
                    _all_filters(p, fact_r, subject, rng),
                    limit=limit or 1,
                    desc=desc_rank,
                )

    # Measure and fact table.
    measure: _Measure | None = None
    fact: IndexedTable | None = None
    agg_name = agg
    if superlative is not None and rank_of is None and group_table is None and subject is not None:
        _m, words, desc = superlative
        col = p._column_for(subject, list(words), numeric=True) or (
            p._column_for(subject, list(words)) if words[0] == "date" else None
        )
        if col is None:
            # a line table referencing the subject ("best-selling products": sum of the quantity sold)
            for fk in subject.fks_in:
                ref = p.index.by_name.get(fk.table)
                if ref is None:
                    continue
                qcol = p._column_for(ref, list(words), numeric=True)
                if qcol is not None:
                    return _group_plan(
                        p,
                        ref,
                        _Measure(ref, (qcol,), "column"),
                        "sum",
                        subject,
                        None,
                        _all_filters(p, ref, subject, rng),
                        limit=limit or 10,
                        desc=desc,
                    )
            return p.unplanned(
                f"I could not build this query with confidence: {subject.qualified_name} has no column for "
                f"'{_m.group(0) if _m else ''}'.",
                f"Não consegui montar esta consulta com confiança: {subject.qualified_name} não tem coluna para "
                f"'{_m.group(0) if _m else ''}'.",
            )
        filters = _all_filters(p, subject, None, rng)
        return _rank_rows_plan(p, subject, col, filters, limit=limit or 1, desc=desc)

    ranked = rank_of is not None or (
        (limit is not None or top_bare or most is not None) and (money or by_measure or sort_m)
    )
    if ranked and limit is None and most is not None and not top_bare:
        limit = 1  # "which genre brought in the most revenue?", "who paid the most": the one at the top
    if rank_of is not None:
        # "os 5 artistas com mais faixas": count rows of X per ranked entity.
        entity = subject or group_table
        if entity is None:
            return p.unplanned(
                "I could not build this query with confidence: I found what is counted "
                f"({rank_of.table.qualified_name}) but not what is ranked.",
                "Não consegui montar esta consulta com confiança: achei o que é contado "
                f"({rank_of.table.qualified_name}) mas não o que é ranqueado.",
            )
        fact = rank_of.table
        after = p._phrase_terms((most or fewest).end() if (most or fewest) else 0, 4)  # type: ignore[union-attr]
        if money and fact is not None:
            measure = p._closest(p._money_measures(), entity)
            agg_name = "sum"
            fact = measure.table if measure else fact
        else:
            agg_name = "count"
        del after
        return _group_plan(
            p,
            fact,
            measure,
            agg_name or "count",
            entity,
            None,
            _all_filters(p, fact, entity, rng),
            limit=limit or 1,
            desc=fewest is None,
        )

    # The group: a table, or a column of the subject / the measure's table.
    if money or (agg in ("sum", "avg", "min", "max") and not count_m):
        phrase_start = agg_m.end() if agg_m else (money.start() if money else 0)
        ends = [m.start() for m in (group_m, bucket_m) if m is not None and m.start() > phrase_start]
        end = min(ends) if ends else len(f)
        phrase_terms = [t.term for t in p.tokens if t.term and phrase_start <= t.start < end]
        if agg_m is not None:  # Portuguese puts the noun first: "preço médio", "valor total"
            k = p._tok_index(agg_m.start())
            phrase_terms += [t.term for t in p.tokens[max(0, k - 2) : k] if t.term]
        phrase_terms = [t for t in phrase_terms if t]
        scope = (
            [m.table for m in subject_mentions]
            or ([group_table] if group_table else [])
            or [p.index.by_name[h] for h in p.history]
        )
        if not money:
            if not subject_mentions and group_table is not None:
                # "média salarial por cargo": the measure lives in a table that points at the group, not in it
                referencing = [t for fk in group_table.fks_in if (t := p.index.by_name.get(fk.table)) is not None]
                measure = p._named_measure(phrase_terms, [t for t in referencing if _populated(t)])
            measure = measure or p._named_measure(phrase_terms, scope)
            if measure is None:
                for table in scope:
                    for nb in p.index.neighbours(table.qualified_name):
                        nbt = p.index.by_name.get(nb)
                        if nbt is not None and _populated(nbt):
                            measure = p._named_measure(phrase_terms, [nbt])
                            if measure:
                                break
                    if measure:
                        break
            if measure is None:
                measure = p.measure_anywhere(phrase_terms, scope[0] if scope else None)
            if measure is None and set(phrase_terms) & _AMOUNT_WORDS and scope:
                # "valor médio das faturas", "average invoice amount": the table's own amount or total
                own = [c for c in p._money_measures() if any(c[1].table is t for t in scope)]
                measure = p._closest(own, scope[0])
        if measure is None:
            # "by total payments", "pelo total de pagamentos": the money column of the table the phrase names
            named = [m.table for m in p.mentions if phrase_start <= p.tokens[m.first].start < end]
            own_named = [c for c in p._money_measures() if any(c[1].table is t for t in named)]
            if own_named:
                measure = p._closest(own_named, named[0])
                agg_name = agg if agg in ("avg", "min", "max") else "sum"
        if measure is None and money and (named_amount := _additive_named(p, group_m, bucket_m)) is not None:
            # "total arrecadado com taxa de bagagem": the fee the question names, not any revenue column
            measure = named_amount
            agg_name = agg if agg in ("avg", "min", "max") else "sum"
        if measure is None and (money or (agg == "sum" and not phrase_terms)):
            anchor = group_table or (subject if ranked or group_m else None)
            measure = p._closest(p._money_measures(), anchor or subject)
            agg_name = agg if agg in ("avg", "min", "max") else "sum"
        if measure is None and _DURATION.search(f):
            # "average length of stay per ward", "tempo médio de internação por ala": end - start in days, of the
            # nearest table that has a start and an end
            durations = [(3, d) for t in p.tables if t.kind in ("table", "partitioned_table")
                         if (d := duration_measure(t, f)) is not None]  # fmt: skip
            measure = next((d for t in scope if (d := duration_measure(t, f)) is not None), None) or p._closest(
                durations, (scope[0] if scope else None) or group_table
            )
        if measure is None:
            return p.unplanned(
                "I could not build this query with confidence: no numeric column matches the measure asked for.",
                "Não consegui montar esta consulta com confiança: nenhuma coluna numérica corresponde à medida pedida.",
            )
        fact = measure.table
        if agg_name is None:
            agg_name = "sum"
    elif (group_m or bucket) and not count_m and not ranked and (additive := _additive_named(p, group_m, bucket_m)):
        # "baggage fees per year", "horas extras por mês": an amount named before the group is summed
        measure, fact, agg_name = additive, additive.table, "sum"
    elif count_m or group_m or ranked or bucket:
        fact = subject or (p.index.by_name[p.history[0]] if p.history else None)
        if fact is None and group_table is not None:
            # "quantas pessoas ativas tem em cada departamento?": the rows of the table that points at the group
            fact = _referencing_fact(p, group_table, rng) or _named_referencing(p, group_table)
        agg_name = "count"
        if fact is None:
            return p.unplanned(
                "I could not build this query with confidence: no table of this database is named in the question.",
                "Não consegui montar esta consulta com confiança: nenhuma tabela deste banco é citada na pergunta.",
            )
    if fact is None:
        return None

    if group_m is not None and not by_measure and group_phrase:
        # A column of the fact table named exactly ("by rating", "por status") beats a table found by a synonym.
        exact = next(
            (
                c.name
                for c in fact.columns
                if c.name not in fact.primary_key
                and not any(c.name in fk.columns for fk in fact.fks_out)
                and [t for t in terms(c.name) if t != "id"] == group_phrase[:1]
            ),
            None,
        )
        if exact is not None or group_table is fact:
            group_table = None
            if exact is not None:
                group_col = (fact, exact)
    if group_m is not None and not by_measure and group_table is None and group_col is None:
        col = None
        scope_tables = [fact]
        scope_tables += [m.table for m in subject_mentions if all(m.table is not t for t in scope_tables)]
        for table in scope_tables:
            col = p._column_for(table, group_phrase[:2], exclude_keys=True)
            if col is not None:
                group_col = (table, col)
                break
        if group_col is None:
            group_col = p.column_nearby([fact], group_phrase[:2])
        if group_col is None:
            # a table named by a concept or comment rather than its name ("por gênero", "by genre")
            resolved = p.index.resolve(" ".join(group_phrase[:2])) if group_phrase else None
            if (
                resolved is not None
                and _populated(resolved)
                and resolved is not fact
                and p.index.join_path(fact.qualified_name, resolved.qualified_name)
                and any(_related(g, n) for g in group_phrase[:2] for n in terms(resolved.name))
            ):
                group_table = resolved
        if group_col is None and group_table is None:
            return p.unplanned(
                f"I could not build this query with confidence: I could not tell what '{' '.join(group_phrase[:2])}' "
                f"groups by in {fact.qualified_name} or the tables linked to it.",
                f"Não consegui montar esta consulta com confiança: não sei por qual coluna ou tabela "
                f"'{' '.join(group_phrase[:2])}' agrupa em {fact.qualified_name} ou nas tabelas ligadas a ela.",
            )
    if group_table is not None and len(group_phrase) >= 2:
        # "per billing country": a two-word column of the named table says more than the table itself
        keys = set(group_table.primary_key) | {c for fk in group_table.fks_out for c in fk.columns}
        for info in group_table.columns:
            if info.name in keys:
                continue
            col_terms = [t for t in _column_terms(info.name) if t != "id"]
            if len(col_terms) >= 2 and all(any(_related(g, c) for g in group_phrase[:3]) for c in col_terms):
                group_col, group_table = (group_table, info.name), None
                break
    entity = group_table
    if ranked and entity is None and group_col is None:
        entity = subject if subject is not fact else None
    if entity is not None and group_col is None and group_m is not None:
        # a second "by"/"por" naming a column of the counted table ("... in each course by status")
        second = next((m for m in _GROUP.finditer(f) if m.start() > group_m.end()), None)
        if second is not None:
            second_phrase = [t for _, t in p._phrase_terms(second.end(), 2)]
            col2 = p._column_for(fact, second_phrase[:1]) if second_phrase else None
            if col2 is not None:
                group_col = (fact, col2)
    filters = _all_filters(p, fact, entity or (group_col[0] if group_col else None), rng)
    if bucket is not None:
        hint = [t.loose for t in p.tokens if t.loose]
        tcol = time_column(fact, hint)
        if tcol is None:
            return p.unplanned(
                f"I could not build this query with confidence: {fact.qualified_name} has no date column to group "
                f"by {bucket}.",
                f"Não consegui montar esta consulta com confiança: {fact.qualified_name} não tem coluna de data para "
                f"agrupar por {_BUCKET_PT[bucket]}.",
            )
        return _group_plan(
            p,
            fact,
            measure,
            agg_name or "count",
            entity,
            group_col,
            filters,
            limit=limit if (ranked or limit) else None,
            desc=not fewest,
            bucket=(bucket, tcol),
        )
    if entity is None and group_col is None:
        if agg_name == "count":
            return _count_plan(p, fact, filters)
        assert measure is not None
        return _total_plan(p, measure, agg_name or "sum", filters)
    return _group_plan(
        p,
        fact,
        measure,
        agg_name or "count",
        entity,
        group_col,
        filters,
        limit=limit if (ranked or limit) else None,
        desc=not fewest,
    )


def _searched_mention(p: _Planner, start: int) -> _Mention | None:
    """The table the words from ``start`` name by a synonym or a comment rather than its name ("by number of
    completed work orders" for ordens_servico), when the retrieval finds it clearly."""
    rest = p.folded[start:]
    top = p.index.search(rest, limit=2, neighbours=False)
    if not top or not _populated(top[0].table) or top[0].coverage < 0.5:
        return None
    if len(top) > 1 and top[1].score >= 0.8 * top[0].score:
        return None
    k = p._tok_index(start)
    return _Mention(k, k, top[0].table)


_ADDITIVE = frozenset({"fee", "amount", "payment", "revenue", "quantity", "salary", "cost", "total", "weight"})


def _additive_named(p: _Planner, group_m: re.Match[str] | None, bucket_m: re.Match[str] | None) -> _Measure | None:
    """A numeric column that adds up (a fee, an amount, a quantity, hours) named before "per"/"by"/"por" in one of
    the question's tables: "baggage fees collected per year" sums baggage.fee rather than counting bags."""
    end = min((m.start() for m in (group_m, bucket_m) if m is not None), default=len(p.folded))
    phrase = [t.term for t in p.tokens if t.term and t.start < end]
    if not phrase:
        return None
    for m in p.mentions:
        if p.tokens[m.first].start >= end:
            continue
        col = p._column_for(m.table, phrase, numeric=True)
        info = m.table.column(col) if col else None
        if info is None:
            continue
        if any(_concepts(t) & _ADDITIVE for t in terms(info.name)) or re.search(r"(hour|hora|minut)", info.name):
            return _Measure(m.table, (info.name,), "column")
    return None


def _verb_table(p: _Planner, most: re.Match[str]) -> _Mention | None:
    """ "films rented the most", "filmes mais alugados": the verb next to "most" names the table whose rows are
    counted (rent -> rental, alugar -> aluguel)."""
    k = p._tok_index(most.start())
    end = p._tok_index(most.end())
    near = [j for j in (k - 1, k - 2, end) if 0 <= j < len(p.tokens)]
    for j in near:
        tok = p.tokens[j]
        if tok.term is None or not re.search(r"(ed|ad[oa]s?|id[oa]s?)$", tok.word):
            continue
        named = next((m for m in p.mentions if m.first <= j <= m.last), None)
        if named is not None:
            return named if named.first == named.last else None
        table = p._table_for_terms([tok.term])
        if table is not None:
            return _Mention(j, j, table)
    return None


def _self_rank_plan(p: _Planner, subject: IndexedTable, rng: _Range | None, *, limit: int) -> QueryPlan | None:
    """ "which manager has the most direct reports?": the rows others point at through the table's key to itself,
    ranked by how many point at them (the pointing rows filtered as asked: "currently" counts active ones)."""
    fk = next((fk for fk in subject.fks_out if fk.ref_table == subject.qualified_name and len(fk.columns) == 1), None)
    if fk is None:
        return None
    name = qualified_ident(subject.qualified_name)
    cols = _show_columns(subject)
    filters = _all_filters(p, subject, None, rng)
    where = [flt.template.replace("{a}", "s.") for flt in filters]
    lines = [
        f"SELECT {', '.join(f'm.{_ident(c)}' for c in cols)}, count(*) AS total",
        f"FROM {name} AS s",
        f"JOIN {name} AS m ON s.{_ident(fk.columns[0])} = m.{_ident(fk.ref_columns[0])}",
        *([f"WHERE {' AND '.join(where)}"] if where else []),
        f"GROUP BY {', '.join(f'm.{_ident(c)}' for c in cols)}",
        f"ORDER BY total DESC, {', '.join(f'm.{_ident(c)}' for c in subject.primary_key or cols[:1])}",
        f"LIMIT {int(limit)}",
    ]
    en = (
        f"Counts the rows of {subject.qualified_name} that point at each row through {fk.columns[0]}"
        f"{_filters_words(filters, 'en')}, most first."
    )
    pt = (
        f"Conta as linhas de {subject.qualified_name} que apontam para cada linha por {fk.columns[0]}"
        f"{_filters_words(filters, 'pt')}, maiores primeiro."
    )
    return QueryPlan("\n".join(lines), "top", (subject.qualified_name,), en, pt)


def _self_anti_plan(p: _Planner, subject: IndexedTable, *, count: bool) -> QueryPlan | None:
    """ "employees who have no subordinates": rows no other row of the same table points at through its foreign
    key to itself (manager, parent)."""
    fk = next((fk for fk in subject.fks_out if fk.ref_table == subject.qualified_name), None)
    if fk is None:
        return None
    name = qualified_ident(subject.qualified_name)
    corr = " AND ".join(f"s.{_ident(c)} = t.{_ident(r)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True))
    cols = _show_columns(subject)
    head = "SELECT count(*) AS total" if count else f"SELECT {', '.join(f't.{_ident(c)}' for c in cols)}"
    lines = [head, f"FROM {name} AS t", f"WHERE NOT EXISTS (SELECT 1 FROM {name} AS s WHERE {corr})"]  # noqa: S608  # nosec B608
    if not count and subject.primary_key:
        lines.append("ORDER BY " + ", ".join(f"t.{_ident(c)}" for c in subject.primary_key))
    via = ", ".join(fk.columns)
    verb_en, verb_pt = ("Counts rows of", "Conta as linhas de") if count else ("Lists rows of", "Lista as linhas de")
    en = f"{verb_en} {subject.qualified_name} that no other row of it points at through {via} (NOT EXISTS)."
    pt = f"{verb_pt} {subject.qualified_name} que nenhuma outra linha dela aponta por {via} (NOT EXISTS)."
    return QueryPlan("\n".join(lines), "anti_join", (subject.qualified_name,), en, pt)


def _cue_names_a_column(p: _Planner, cue: re.Match[str]) -> bool:
    """ "estoque mínimo", "max speed": the aggregate word is part of a column's name, not an aggregate."""
    k = p._tok_index(cue.start())
    if k >= len(p.tokens):
        return False
    cue_term = stem(p.tokens[k].word)
    pairs = []
    if k > 0:
        pairs.append([stem(p.tokens[k - 1].word), cue_term])
    if k + 1 < len(p.tokens):
        pairs.append([cue_term, stem(p.tokens[k + 1].word)])
    for m in p.mentions:
        for col in m.table.columns:
            col_terms = [stem(w) for w in words(col.name)]
            if any(
                len(col_terms) == 2 and all(_related(a, b) for a, b in zip(pair, col_terms, strict=True))
                for pair in pairs
            ):
                return True
    return False


def _column_terms(name: str) -> list[str]:
    """A column name's stems, long stop words kept ("estoque_minimo" is not "estoque")."""
    kept = set(terms(name))
    return [s for w in words(name) if (s := stem(w)) in kept or len(w) > 3]


def _is_agent(p: _Planner, cue: re.Match[str]) -> bool:
    """ "caused by", "causadas por": a participle before by/por names who or what did it, not a group; a table's
    name ending like one ("pedidos por cliente") is still a group."""
    if not _AGENT.search(p.folded[max(0, cue.start() - 20) : cue.start()]):
        return False
    k = p._tok_index(cue.start()) - 1
    if k < 0 or any(m.first <= k <= m.last for m in p.mentions):
        return False
    after = [t for _, t in p._phrase_terms(cue.end(), 2)]
    named = any(
        p._column_for(m.table, after[:1]) for m in p.mentions
    )  # "by country": a column of the question's tables
    return not named and p._mention_after(cue.end(), 1) is None


_PT_VERB_END = re.compile(r"(aram|eram|iram|ou|eu|iu|ad[oa]s?|id[oa]s?|ar|er|ir)$")


def _same_verb(word: str, column_term: str) -> bool:
    """A Portuguese verb form and a participle column name of one verb ("realizaram" / realizada_em)."""
    a, b = _PT_VERB_END.sub("", word), _PT_VERB_END.sub("", column_term)
    return len(a) >= 4 and a == b and (a != word or b != column_term)


def _keys_meet(a: tuple[str, str | None], b: tuple[str, str | None]) -> bool:
    if a[0] == b[0] or (a[1] is not None and a[1] in b) or (b[1] is not None and b[1] == a[0]):
        return True
    return bool(set(concepts_of(*a)) & set(concepts_of(*b)))


_CONNECTORS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "e",
        "o",
        "os",
        "as",
        "do",
        "da",
        "dos",
        "das",
        "de",
        "del",
        "la",
        "le",
        "y",
        "s",
    ]
)


def _names_value(question_keys: Sequence[tuple[str, str | None]], value: str) -> frozenset[int]:
    """The question words naming every word of the value (same stem, or one concept of the vocabulary), the
    value's stop words included ("Banco do Brasil" is not named by "Brasil"); empty when one is missing."""
    value_words = [w for w in words(value) if w not in _CONNECTORS and len(w) > 1 and not w.isdigit()]
    value_keys = [(analyse(w) or [(w, None)])[0] for w in value_words]
    used: set[int] = set()
    for v in value_keys:
        hit = next((i for i, q in enumerate(question_keys) if _keys_meet(v, q)), None)
        if hit is None:
            return frozenset()
        used.add(hit)
    return frozenset(used)


def _populated_name(index: SchemaIndex, name: str) -> bool:
    table = index.by_name.get(name)
    return table is not None and _populated(table)


def _lookup_condition(index: SchemaIndex, table: IndexedTable, target: str, cond: str) -> str | None:
    """``cond`` (on ``target``) as seen from ``table`` through its many-to-one foreign keys: nested
    ``fk IN (SELECT key FROM target WHERE cond)``; None when the path goes the other way or has composite keys."""
    path = index.join_path(table.qualified_name, target)
    if path is None or not path.edges or len(path.edges) > 3:
        return None
    current = table.qualified_name
    hops: list[tuple[str, str, str]] = []  # (column here, column there, table there)
    for fk in path.edges:
        if len(fk.columns) != 1:
            return None
        if fk.table == current:
            hops.append((fk.columns[0], fk.ref_columns[0], fk.ref_table))
            current = fk.ref_table
            continue
        # against the key: only into a link table (its key made of its foreign keys: movie -> movie_genre -> genre)
        link = index.by_name.get(fk.table)
        if link is None or not _is_link(link):
            return None
        hops.append((fk.ref_columns[0], fk.columns[0], fk.table))
        current = fk.table
    inner = cond
    for here, there, target_table in reversed(hops[1:]):
        inner = f"{_ident(here)} IN (SELECT {_ident(there)} FROM {qualified_ident(target_table)} WHERE {inner})"  # noqa: S608  # nosec B608
    here, there, target_table = hops[0]
    return f"{{a}}{_ident(here)} IN (SELECT {_ident(there)} FROM {qualified_ident(target_table)} WHERE {inner})"  # noqa: S608  # nosec B608


def _is_link(table: IndexedTable) -> bool:
    """A many-to-many link table: two or more foreign keys and a key made of their columns only."""
    fk_cols = {c for fk in table.fks_out for c in fk.columns}
    return len(table.fks_out) >= 2 and bool(table.primary_key) and set(table.primary_key) <= fk_cols


def _referencing_fact(p: _Planner, subject: IndexedTable, rng: _Range | None) -> IndexedTable | None:
    """The one table that references the subject (with a date column when a range is asked), if only one does."""
    refs: list[IndexedTable] = []
    for through in (False, True):  # tables dated themselves first, then lines dated by their parent
        for fk in subject.fks_in:
            table = p.index.by_name.get(fk.table)
            if table is None or table is subject or not _populated(table) or table in refs:
                continue
            undated = rng is not None and time_column(table) is None
            if undated and (not through or rng is None or p.date_filter(table, rng, through=True) is None):
                continue
            refs.append(table)
        if refs:
            break
    if len(refs) > 1 and _MONEY.search(p.folded):  # "never sold", "nunca vendidas": the table with the money
        money_tables = {m.table.qualified_name for _, m in p._money_measures()}
        refs = [t for t in refs if t.qualified_name in money_tables] or refs
    return refs[0] if len(refs) == 1 else None


def _named_referencing(p: _Planner, group: IndexedTable) -> IndexedTable | None:
    """Among the tables pointing at ``group``, the one the question's words find first ("pessoas" for funcionarios)."""
    referencing = {fk.table for fk in group.fks_in if fk.table != group.qualified_name}
    for match in p.index.search(p.question, limit=8, neighbours=False):
        if match.table.qualified_name in referencing and _populated(match.table):
            return match.table
    return None


def subject_first(p: _Planner) -> IndexedTable | None:
    return p.mentions[0].table if p.mentions else (p.index.by_name[p.history[0]] if p.history else None)


def _all_filters(p: _Planner, fact: IndexedTable, other: IndexedTable | None, rng: _Range | None) -> list[_Filter]:
    used: set[tuple[str, str]] = set()
    out = p.filters(fact, used, rng.span if rng else None)
    if other is not None and other is not fact:
        out += p._value_filters(other, used)
    if rng is not None:
        df = p.date_filter(fact, rng, through=True, avoid=out)
        if df is None and other is not None:
            df = p.date_filter(other, rng)
        if df is not None:
            out.append(df)
    return out


# --------------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------------


def _aliases(tables: Sequence[str]) -> dict[str, str]:
    used: set[str] = set()
    out: dict[str, str] = {}
    reserved = {
        "as",
        "on",
        "or",
        "do",
        "to",
        "in",
        "is",
        "by",
        "of",
        "if",
        "at",
        "no",
        "end",
        "all",
        "and",
        "any",
        "asc",
        "for",
        "not",
        "out",
        "set",
        "use",
        "desc",
    }
    for name in tables:
        bare = name.rpartition(".")[2]
        parts = [x for x in re.split(r"[^a-z0-9]+", fold(bare)) if x]
        base = "".join(x[0] for x in parts) or "t"
        if not base[0].isalpha():
            base = "t" + base
        alias = base
        n = 2
        while alias in used or alias in reserved:
            alias = f"{base}{n}"
            n += 1
        used.add(alias)
        out[name] = alias
    return out


def _from_lines(path: JoinPath, aliases: dict[str, str]) -> list[str]:
    first = path.tables[0]
    lines = [f"FROM {qualified_ident(first)} AS {aliases[first]}"]
    current = first
    for fk in path.edges:
        nxt = fk.ref_table if fk.table == current else fk.table
        conds = " AND ".join(
            f"{aliases[fk.table]}.{_ident(c)} = {aliases[fk.ref_table]}.{_ident(r)}"
            for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        )
        lines.append(f"JOIN {qualified_ident(nxt)} AS {aliases[nxt]} ON {conds}")
        current = nxt
    return lines


def _where(filters: Sequence[_Filter], aliases: dict[str, str] | None) -> list[str]:
    conds = [
        flt.template.replace("{a}", f"{aliases[flt.table.qualified_name]}." if aliases else "")
        for flt in filters
        if not aliases or flt.table.qualified_name in aliases
    ]
    return [f"WHERE {' AND '.join(conds)}"] if conds else []


def _filters_words(filters: Sequence[_Filter], lang: str) -> str:
    if not filters:
        return ""
    parts = [flt.pt if lang == "pt" else flt.en for flt in filters]
    return ("; filtro: " if lang == "pt" else "; filtered by ") + ", ".join(parts)


def _show_columns(table: IndexedTable) -> list[str]:
    labels = label_columns(table)
    key = list(table.primary_key)
    cols = [*key, *[c for c in labels if c not in key]]
    if not labels:  # no label: its one amount says what the row is worth ("last 5 payments": how much)
        amounts = [
            c.name
            for c in table.columns
            if is_numeric(c.type)
            and c.name not in table.primary_key
            and not any(c.name in fk.columns for fk in table.fks_out)
            and any(_concepts(t) & {"amount", "total", "payment", "revenue"} for t in terms(c.name))
        ]
        cols += amounts[:1] if len(amounts) == 1 else []
    if len(cols) < 2:  # no label: the key and the time column say which row it is
        tcol = time_column(table)
        bookkeeping = tcol is not None and re.search(r"(update|modif|alterad|atualiz|changed)", tcol.lower())
        cols += [tcol] if tcol and tcol not in cols and not bookkeeping else []
    return cols or [c.name for c in table.columns[:4]]


_AGG_SQL = {"count": "count", "sum": "sum", "avg": "avg", "min": "min", "max": "max"}
_AGG_NAME = {"count": "total", "sum": "sum_total", "avg": "average", "min": "minimum", "max": "maximum"}
_AGG_EN = {
    "count": "counts rows of",
    "sum": "adds up",
    "avg": "averages",
    "min": "takes the minimum of",
    "max": "takes the maximum of",
}
_AGG_PT = {
    "count": "conta as linhas de",
    "sum": "soma",
    "avg": "calcula a média de",
    "min": "pega o mínimo de",
    "max": "pega o máximo de",
}


def _count_plan(p: _Planner, table: IndexedTable, filters: list[_Filter]) -> QueryPlan:
    # Display SQL built from catalog names (quoted) and literals (escaped); EXPLAIN-checked, never run unseen.
    lines = [f"SELECT count(*) AS total FROM {qualified_ident(table.qualified_name)}", *_where(filters, None)]  # noqa: S608  # nosec B608
    sql = " ".join(lines)
    en = f"Counts rows of {table.qualified_name}{_filters_words(filters, 'en')}."
    pt = f"Conta as linhas de {table.qualified_name}{_filters_words(filters, 'pt')}."
    return QueryPlan(sql, "count", (table.qualified_name,), en, pt)


def _total_plan(p: _Planner, measure: _Measure, agg: str, filters: list[_Filter]) -> QueryPlan:
    table = measure.table
    expr = measure.sql("")
    sql = " ".join(
        [
            f"SELECT {_AGG_SQL[agg]}({expr}) AS {_AGG_NAME[agg]} FROM {qualified_ident(table.qualified_name)}",  # noqa: S608  # nosec B608
            *_where(filters, None),
        ]
    )
    en = f"{_AGG_EN[agg].capitalize()} {measure.words('en')} over all rows{_filters_words(filters, 'en')}."
    pt = f"{_AGG_PT[agg].capitalize()} {measure.words('pt')} em todas as linhas{_filters_words(filters, 'pt')}."
    return QueryPlan(sql, "aggregate", (table.qualified_name,), en, pt)


def _singular(p: _Planner, table: IndexedTable) -> bool:
    """ "the most recent payroll", "a última folha paga": the question names one row (its noun in the singular), so
    the newest one is the answer, not the newest ten."""
    f = p.folded
    if re.search(r"\b(all|todos|todas|list|liste)\b", f):
        return False
    m = re.search(r"\b(?:most recent|latest|newest|last|ultim[oa]s?)\s+([a-z]+)", f)
    if m:
        return not m.group(1).endswith("s") and not re.search(r"ultim[oa]s\b", m.group(0))
    m = re.search(r"\b([a-z]+)\s+(?:[a-z]+\s+)?mais recentes?\b", f)
    if m:
        return not (m.group(0).endswith("s") or m.group(1).endswith("s"))
    return False


def _list_plan(
    p: _Planner, table: IndexedTable, filters: list[_Filter], *, count: bool = False, latest: bool = False
) -> QueryPlan:
    if count:
        return _count_plan(p, table, filters)
    cols = _show_columns(table)
    order = ", ".join(map(_ident, table.primary_key)) if table.primary_key else None
    limit = ""
    if latest:
        tcol = time_column(table, p.hint(table))
        if tcol:
            order = f"{_ident(tcol)} DESC NULLS LAST"
            m = (
                _TOP.search(p.folded)
                or re.search(r"\b(?:latest|last|ultim[oa]s?|newest)\s+" + _NUM + r"\b", p.folded)
                or re.search(r"\b" + _NUM + r"\s+(?:latest|most recent|newest|ultim)", p.folded)
            )
            limit = f" LIMIT {_number(m.group(1)) if m else (1 if _singular(p, table) else 10)}"
            if tcol not in cols:
                cols.append(tcol)
    sql = (
        " ".join(
            [
                f"SELECT {', '.join(map(_ident, cols))} FROM {qualified_ident(table.qualified_name)}",  # noqa: S608  # nosec B608
                *_where(filters, None),
            ]
            + ([f"ORDER BY {order}"] if order else [])
        )
        + limit
    )
    en = f"Lists rows of {table.qualified_name} ({', '.join(cols)}){_filters_words(filters, 'en')}."
    pt = f"Lista linhas de {table.qualified_name} ({', '.join(cols)}){_filters_words(filters, 'pt')}."
    return QueryPlan(sql, "latest" if latest else "list", (table.qualified_name,), en, pt)


def _rank_rows_plan(
    p: _Planner, table: IndexedTable, col: str, filters: list[_Filter], *, limit: int, desc: bool
) -> QueryPlan:
    cols = [c for c in _show_columns(table) if c != col] + [col]
    tie = f", {_ident(table.primary_key[0])}" if table.primary_key and table.primary_key[0] != col else ""
    direction = "DESC NULLS LAST" if desc else "ASC NULLS LAST"
    sql = " ".join(
        [
            f"SELECT {', '.join(map(_ident, cols))} FROM {qualified_ident(table.qualified_name)}",  # noqa: S608  # nosec B608
            *_where(filters, None),
            f"ORDER BY {_ident(col)} {direction}{tie} LIMIT {limit}",
        ]
    )
    en = (
        f"Lists the {limit} rows of {table.qualified_name} with the {'highest' if desc else 'lowest'} {col}"
        f"{_filters_words(filters, 'en')}."
    )
    pt = (
        f"Lista as {limit} linhas de {table.qualified_name} com {'maior' if desc else 'menor'} {col}"
        f"{_filters_words(filters, 'pt')}."
    )
    return QueryPlan(sql, "top", (table.qualified_name,), en, pt)


def _group_plan(
    p: _Planner,
    fact: IndexedTable,
    measure: _Measure | None,
    agg: str,
    entity: IndexedTable | None,
    group_col: tuple[IndexedTable, str] | None,
    filters: list[_Filter],
    *,
    limit: int | None,
    desc: bool = True,
    bucket: tuple[str, str] | None = None,
) -> QueryPlan | Unplanned:
    target = entity or (group_col[0] if group_col else fact)
    path = p.index.join_path(fact.qualified_name, target.qualified_name)
    if path is None:
        return p.unplanned(
            f"I could not build this query with confidence: no foreign-key path links {fact.qualified_name} and "
            f"{target.qualified_name}.",
            f"Não consegui montar esta consulta com confiança: nenhum caminho de chaves estrangeiras liga "
            f"{fact.qualified_name} e {target.qualified_name}.",
        )
    single = len(path.tables) == 1
    aliases = _aliases(path.tables) if not single else {}
    pre = (lambda name: f"{aliases[name]}.") if not single else (lambda name: "")
    if entity is not None:
        shown = _show_columns(entity)
        group_exprs = [f"{pre(entity.qualified_name)}{_ident(c)}" for c in shown]
        label_words = ", ".join(shown)
        group_words = f"{entity.qualified_name} ({label_words})"
        if group_col is not None and group_col[0].qualified_name in path.tables:
            # "students in each course by status": a second group, a column of a table on the path
            group_exprs.append(f"{pre(group_col[0].qualified_name)}{_ident(group_col[1])}")
            group_words += f" and {group_col[0].qualified_name}.{group_col[1]}"
    elif group_col is not None:
        group_exprs = [f"{pre(group_col[0].qualified_name)}{_ident(group_col[1])}"]
        group_words = f"{group_col[0].qualified_name}.{group_col[1]}"
    else:
        group_exprs = []
        group_words = ""
    bucket_expr = None
    if bucket is not None:
        unit, tcol = bucket
        bucket_expr = _BUCKET_SQL[unit].format(col=f"{pre(fact.qualified_name)}{_ident(tcol)}")
        group_exprs.append(bucket_expr)
        bucket_words = f"{unit} of {fact.qualified_name}.{tcol}"
        group_words = f"{group_words} and {bucket_words}" if group_words else bucket_words
    fan_out = any(fk.table != path.tables[i] for i, fk in enumerate(path.edges))
    if agg == "count":
        if fan_out and len(fact.primary_key) == 1:
            value = f"count(DISTINCT {pre(fact.qualified_name)}{_ident(fact.primary_key[0])})"
        else:
            value = "count(*)"
    else:
        assert measure is not None
        value = f"{_AGG_SQL[agg]}({measure.sql(pre(fact.qualified_name))})"
    name = _AGG_NAME[agg]
    shown_exprs = [f"{e} AS {bucket[0]}" if e == bucket_expr and bucket else e for e in group_exprs]
    select = f"SELECT {', '.join(shown_exprs)}, {value} AS {name}"
    from_lines = _from_lines(path, aliases) if not single else [f"FROM {qualified_ident(fact.qualified_name)}"]
    tie = f", {group_exprs[0]}"
    order = f"ORDER BY {name} {'DESC' if desc else 'ASC'}{' NULLS LAST' if agg != 'count' else ''}{tie}"
    if bucket_expr is not None and not limit:
        order = "ORDER BY " + ", ".join([bucket_expr, *[e for e in group_exprs if e != bucket_expr]])
    lines = [select, *from_lines, *_where(filters, aliases or None), f"GROUP BY {', '.join(group_exprs)}", order]
    if limit:
        lines.append(f"LIMIT {limit}")
    sql = "\n".join(lines) if not single else " ".join(lines)
    what_en = f"{_AGG_EN[agg]} {fact.qualified_name}" if agg == "count" else f"{_AGG_EN[agg]} {measure.words('en')}"  # type: ignore[union-attr]
    what_pt = f"{_AGG_PT[agg]} {fact.qualified_name}" if agg == "count" else f"{_AGG_PT[agg]} {measure.words('pt')}"  # type: ignore[union-attr]
    via = ""
    via_pt = ""
    if len(path.tables) > 2:
        via = f", joined through {' → '.join(path.tables)}"
        via_pt = f", juntando {' → '.join(path.tables)}"
    elif len(path.tables) == 2:
        via = f", joined {' → '.join(path.tables)}"
        via_pt = f", juntando {' → '.join(path.tables)}"
    rank_en = f"; the {limit} {'highest' if desc else 'lowest'}" if limit else "; highest first"
    rank_pt = f"; os {limit} {'maiores' if desc else 'menores'}" if limit else "; maiores primeiro"
    if bucket_expr is not None and not limit:
        rank_en, rank_pt = "; in time order", "; em ordem cronológica"
    en = f"{what_en[0].upper()}{what_en[1:]} per {group_words}{via}{_filters_words(filters, 'en')}{rank_en}."
    pt = f"{what_pt[0].upper()}{what_pt[1:]} por {group_words}{via_pt}{_filters_words(filters, 'pt')}{rank_pt}."
    intent = "top" if limit else ("count" if agg == "count" else "aggregate")
    return QueryPlan(sql, intent, path.tables, en, pt)


_BUCKET_SQL = {
    "year": "extract(year FROM {col})::int",
    "quarter": "date_trunc('quarter', {col})::date",
    "month": "date_trunc('month', {col})::date",
    "week": "date_trunc('week', {col})::date",
    "day": "{col}::date",
}
_BUCKET_PT = {"year": "ano", "quarter": "trimestre", "month": "mês", "week": "semana", "day": "dia"}


def _extreme_date_plan(
    p: _Planner, table: IndexedTable, tcol: str, filters: list[_Filter], *, newest: bool
) -> QueryPlan:
    fn = "max" if newest else "min"
    sql = " ".join(
        [
            f"SELECT {fn}({_ident(tcol)}) AS {'latest' if newest else 'earliest'} "  # noqa: S608  # nosec B608
            f"FROM {qualified_ident(table.qualified_name)}",
            *_where(filters, None),
        ]
    )
    en = (
        f"Takes the {'latest' if newest else 'earliest'} {tcol} of {table.qualified_name}"
        f"{_filters_words(filters, 'en')}."
    )
    pt = (
        f"Pega a {'mais recente' if newest else 'mais antiga'} {tcol} de {table.qualified_name}"
        f"{_filters_words(filters, 'pt')}."
    )
    return QueryPlan(sql, "latest", (table.qualified_name,), en, pt)


def _anti_plan(
    p: _Planner, subject: IndexedTable, path: JoinPath, inner: list[_Filter], outer: list[_Filter], *, count: bool
) -> QueryPlan:
    aliases = _aliases([subject.qualified_name, *path.tables[1:]])
    s = aliases[subject.qualified_name]
    first = path.edges[0]
    nxt = path.tables[1]
    corr = " AND ".join(
        f"{aliases[first.table]}.{_ident(c)} = {aliases[first.ref_table]}.{_ident(r)}"
        for c, r in zip(first.columns, first.ref_columns, strict=True)
    )
    sub_from = [f"SELECT 1 FROM {qualified_ident(nxt)} AS {aliases[nxt]}"]  # noqa: S608  # nosec B608
    current = nxt
    for fk in path.edges[1:]:
        other = fk.ref_table if fk.table == current else fk.table
        conds = " AND ".join(
            f"{aliases[fk.table]}.{_ident(c)} = {aliases[fk.ref_table]}.{_ident(r)}"
            for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        )
        sub_from.append(f"JOIN {qualified_ident(other)} AS {aliases[other]} ON {conds}")
        current = other
    inner_conds = [corr] + [
        flt.template.replace("{a}", f"{aliases[flt.table.qualified_name]}.")
        for flt in inner
        if flt.table.qualified_name in aliases
    ]
    not_exists = f"NOT EXISTS ({' '.join(sub_from)} WHERE {' AND '.join(inner_conds)})"
    outer_conds = [not_exists] + [flt.template.replace("{a}", f"{s}.") for flt in outer]
    cols = _show_columns(subject)
    head = "SELECT count(*) AS total" if count else f"SELECT {', '.join(f'{s}.{_ident(c)}' for c in cols)}"
    lines = [head, f"FROM {qualified_ident(subject.qualified_name)} AS {s}", f"WHERE {' AND '.join(outer_conds)}"]
    if not count and subject.primary_key:
        lines.append("ORDER BY " + ", ".join(f"{s}.{_ident(c)}" for c in subject.primary_key))
    sql = "\n".join(lines)
    other = path.tables[-1]
    inner_en = _filters_words(inner, "en").replace("; filtered by ", " with ")
    inner_pt = _filters_words(inner, "pt").replace("; filtro: ", " com ")
    verb_en = "Counts rows of" if count else "Lists rows of"
    verb_pt = "Conta as linhas de" if count else "Lista as linhas de"
    en = (
        f"{verb_en} {subject.qualified_name} that have no row in {other}{inner_en} (NOT EXISTS along "
        f"{' → '.join(path.tables)}){_filters_words(outer, 'en')}."
    )
    pt = (
        f"{verb_pt} {subject.qualified_name} sem nenhuma linha em {other}{inner_pt} (NOT EXISTS por "
        f"{' → '.join(path.tables)}){_filters_words(outer, 'pt')}."
    )
    return QueryPlan(sql, "anti_join", path.tables, en, pt)
