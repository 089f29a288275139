"""Index the catalog once, then pick and render the tables a question is about, inside a token budget.

Why this exists: the assistants people compare us with paste the whole schema into the prompt (it
overflows on big databases) or retrieve by embedding similarity alone (it picks unrelated tables). Here
retrieval is lexical and explainable, in English and Portuguese:

* every table is indexed by the words of its name, comment, column names and column comments, folded
  (lower case, accents removed), split on ``_``/camelCase and lightly stemmed (plurals of both languages);
* words belong to concepts (cliente/customer/user, pedido/order, agendamento/appointment/consulta...), so
  a Portuguese question finds English table names and back;
* scores are weighted by field (a name beats a column, a column beats a comment) and by rarity (idf), then
  foreign-key neighbours of strong matches and the tables of earlier turns get a smaller share;
* the chosen tables are rendered as compact DDL, most relevant first, each at the richest level of detail
  that still fits the budget, so the output never exceeds the budget whatever the schema size.

Building the index costs two catalog round trips whatever the number of tables (``catalog.list_tables``
plus one query for keys, policies and indexes); answering a question touches only the posting lists of
its words.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dba_admin.catalog import SYSTEM_LIKE_SCHEMAS, ColumnInfo, TableInfo

__all__ = [
    "CONCEPTS",
    "ColumnRef",
    "ForeignKeyEdge",
    "IndexedTable",
    "JoinPath",
    "RenderedContext",
    "SchemaIndex",
    "TableMatch",
    "estimate_tokens",
    "fold",
    "load_extras",
    "stem",
    "terms",
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


def stem(word: str) -> str:
    """Singular of English and Portuguese plurals; deliberately tiny (a wrong stem only costs recall)."""
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("oes"):  # botões -> botao, but also English "shoes" -> "shoao": harmless for identifiers
        return w[:-3] + "ao"
    if w.endswith("aes"):  # pães -> pao
        return w[:-3] + "ao"
    if w.endswith("ais") and not w.endswith("ails") and len(w) > 5:  # animais -> animal (not "emails")
        return w[:-3] + "al"
    if w.endswith("eis") and len(w) > 5:  # papeis -> papel
        return w[:-3] + "el"
    if w.endswith("gens"):  # mensagens -> mensagem (English "-ens" plurals such as tokens are left alone)
        return w[:-1].removesuffix("n") + "m"
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.endswith("ores") and len(w) > 6:  # valores -> valor, motores -> motor
        return w[:-2]
    if w.endswith(("ss", "us", "is")):  # address, status, analysis
        return w
    if w.endswith("s"):
        return w[:-1]
    return w


_IRREGULAR = {"itens": "item", "ordens": "ordem", "people": "person", "children": "child", "data": "data"}


def words(text: str) -> list[str]:
    """Folded words of free text or an identifier (snake_case and camelCase split)."""
    return _WORD.findall(fold(_CAMEL.sub(" ", text)))


def terms(text: str) -> list[str]:
    """Stemmed words, stop words removed: what the index stores and what a question is reduced to."""
    return [s for s in (stem(w) for w in words(text)) if s not in STOP_WORDS and len(s) > 1]


# Question words and filler of both languages that say nothing about which table is meant.
STOP_WORDS: frozenset[str] = frozenset(
    stem(w)
    for w in """
    a an the of to in on at for from by with and or not no is are was were be been being this that these
    those it its which what where when who whom whose how why do does did can could would should will
    shall may might i me my we our you your he she they them their there here as if then than so such
    into about over under all any each every some per via also only just more most less very please show
    tell give get find list table tables column columns field fields info information store stored
    stores storing hold holds kept keep keeps saved save live lives database db schema query queries sql
    select write need want know use used many much one two three new old whats which's o os as um uma
    uns umas de do da dos das no na nos nas em por para pra com sem e ou nao sim que qual quais quem
    onde quando como porque por que ser esta estao fica ficam esta sao foi eram tem ter ha isso isto
    esse essa esses essas este estes aquele aquela meu minha seu sua nosso nossa voce voces eu nos ele
    ela eles elas tabela tabelas coluna colunas campo campos dado dados informacao informacoes guardado
    guardada guardados guarda guardam armazenado armazenada armazena armazenam salvo salvos banco
    esquema mostre mostrar mostra liste listar lista me diga dizer preciso quero saber usar todos todas
    cada algum alguma muito muitos mais menos count counting quantos quantas quanto contar conte
    contagem latest last recent recently newest top first ultimo ultima ultimos ultimas recente recentes
    primeiro primeiros join joins joined juntar junte ligar ligo relacionar relaciono relate related
    relationship relacao connect conectar combinar combine cruzar between entre describe descreva
    descrever descricao explain explique structure estrutura make fazer faco escreva existe exist exists
    error erro does doesnt""".split()  # noqa: SIM905
)


# Concept groups: any word of a group finds the others. Canonical name first. Folded, singular.
_CONCEPT_GROUPS: dict[str, tuple[str, ...]] = {
    "customer": (
        "customer",
        "cliente",
        "client",
        "user",
        "usuario",
        "pessoa",
        "person",
        "people",
        "profile",
        "perfil",
        "contact",
        "contato",
        "consumidor",
        "comprador",
        "buyer",
    ),
    "tutor": ("tutor", "tutora", "owner", "dono", "dona", "proprietario", "responsavel"),
    "pet": (
        "pet",
        "animal",
        "bicho",
        "dog",
        "cachorro",
        "cao",
        "cat",
        "gato",
        "species",
        "especie",
        "breed",
        "raca",
    ),
    "order": ("order", "pedido", "purchase", "compra", "venda", "sale", "encomenda"),
    "item": ("item", "line", "linha"),
    "payment": (
        "payment",
        "pagamento",
        "pay",
        "paid",
        "pago",
        "pix",
        "card",
        "cartao",
        "refund",
        "reembolso",
        "parcela",
        "installment",
        "cobranca",
        "charge",
        "transaction",
        "transacao",
    ),
    "appointment": (
        "appointment",
        "agendamento",
        "agenda",
        "consulta",
        "booking",
        "reserva",
        "schedule",
        "marcacao",
        "horario",
        "visit",
        "visita",
        "atendimento_agendado",
        "booked",
        "agendado",
    ),
    "message": ("message", "mensagem", "msg", "sms", "whatsapp", "body", "texto", "text"),
    "product": (
        "product",
        "produto",
        "merchandise",
        "mercadoria",
        "catalogue",
        "catalog",
        "catalogo",
        "racao",
        "sku",
    ),
    "campaign": ("campaign", "campanha", "marketing", "promocao", "promotion", "newsletter", "disparo"),
    "reminder": ("reminder", "lembrete", "aviso", "notification", "notificacao", "alert", "alerta"),
    "conversation": (
        "conversation",
        "conversa",
        "chat",
        "dialogo",
        "dialog",
        "thread",
        "atendimento",
        "session",
        "sessao",
    ),
    "memory": ("memory", "memoria", "lembranca", "fact", "fato", "remember", "lembrar"),
    "service": (
        "service",
        "servico",
        "banho",
        "bath",
        "tosa",
        "grooming",
        "vacina",
        "vaccine",
        "exame",
        "exam",
        "cirurgia",
        "surgery",
        "daycare",
        "creche",
    ),
    "stock": ("stock", "estoque", "inventory", "inventario", "quantity_on_hand"),
    "price": (
        "price",
        "preco",
        "valor",
        "value",
        "cost",
        "custo",
        "amount",
        "montante",
        "total",
        "fee",
        "taxa",
        "unit_price",
    ),
    "phone": ("phone", "telefone", "celular", "mobile", "fone", "whatsapp", "number", "numero"),
    "email": ("email", "mail"),
    "address": (
        "address",
        "endereco",
        "street",
        "rua",
        "logradouro",
        "neighborhood",
        "bairro",
        "city",
        "cidade",
        "postal",
        "cep",
        "zip",
        "state",
        "uf",
    ),
    "date": ("date", "data", "day", "dia", "time", "hora", "timestamp", "when", "quando", "at"),
    "name": ("name", "nome", "full", "completo"),
    "status": ("status", "situacao", "estado", "state"),
    "recipient": ("recipient", "destinatario", "audience", "publico"),
    "context": ("context", "contexto", "intent", "intencao", "slot", "summary", "resumo"),
    "document": ("document", "documento", "cpf", "cnpj", "rg"),
    "weight": ("weight", "peso", "kg"),
    "birth": ("birth", "nascimento", "birthday", "aniversario", "age", "idade"),
    "vet": ("vet", "veterinario", "veterinaria", "doctor", "medico"),
    "delivery": ("delivery", "entrega", "delivered", "entregue", "frete", "shipping", "shipped", "enviado"),
    "discount": ("discount", "desconto", "coupon", "cupom"),
    "category": ("category", "categoria", "tipo", "type", "kind"),
    "quantity": ("quantity", "quantidade", "qtd", "qty"),
    "question": (
        "question",
        "pergunta",
        "duvida",
        "answer",
        "resposta",
        "ia",
        "ai",
        "assistant",
        "assistente",
    ),
    "project": ("project", "projeto"),
    "script": ("script", "versao", "version"),
    "execution": ("execution", "execucao", "run", "executado", "executed"),
    "allergy": ("allergy", "alergia", "alergico", "allergic"),
    "note": ("note", "nota", "observacao", "obs", "anotacao", "comment", "comentario"),
    "cancel": ("cancel", "cancelled", "canceled", "cancelado", "cancelamento", "cancellation"),
    "read": ("read", "lido", "lida", "leitura"),
    "sent": ("sent", "enviado", "enviada", "envio", "send"),
    "active": ("active", "ativo", "ativa", "inactive", "inativo"),
    "opt_in": ("opt", "consent", "consentimento", "optin", "lgpd"),
    "token": ("token", "tokens"),
    "size": ("size", "tamanho"),
}

CONCEPTS: dict[str, str] = {}
for _canon, _members in _CONCEPT_GROUPS.items():
    for _m in _members:
        CONCEPTS.setdefault(stem(_m), _canon)


def concept_of(term: str) -> str | None:
    return CONCEPTS.get(term)


# --------------------------------------------------------------------------------------------------
# Indexed objects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForeignKeyEdge:
    """A foreign key from ``table(columns)`` to ``ref_table(ref_columns)`` (qualified names)."""

    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


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
"""


def load_extras(
    conn: psycopg.Connection[Any], *, statement_timeout_ms: int = 30_000
) -> list[tuple[str, str, str, Any]]:
    """Keys, check constraints, policies and indexes of every table, in one rolled-back read-only query."""
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
PREFIX_FACTOR = 0.5
PREFIX_LEN = 5
NEIGHBOUR_SHARE = 0.2
EXPLICIT_NAME_BONUS = 4.0

# Posting: table number -> (weight, field label, column or None)
_Posting = dict[int, tuple[float, str, str | None]]


class SchemaIndex:
    """An in-memory, immutable index over the tables of a database."""

    def __init__(self, tables: Sequence[IndexedTable]) -> None:
        self.tables: list[IndexedTable] = list(tables)
        self.by_name: dict[str, IndexedTable] = {t.qualified_name: t for t in self.tables}
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
        for edges in self._neighbours.values():
            edges.sort(key=lambda e: (e[0], e[1].name))

    # -- building -----------------------------------------------------------------------------------

    @classmethod
    def from_catalog(
        cls,
        tables: Iterable[TableInfo],
        extras: Iterable[tuple[str, str, str, Any]] = (),
        *,
        include_system: bool = False,
    ) -> SchemaIndex:
        """From ``catalog.list_tables`` and :func:`load_extras` rows (system-like schemas left out)."""
        indexed: dict[str, IndexedTable] = {}
        for t in tables:
            if not include_system and (t.is_system_like or t.schema in SYSTEM_LIKE_SCHEMAS):
                continue
            if t.is_partition:
                continue  # the parent stands for its partitions
            indexed[t.qualified_name] = IndexedTable(
                schema=t.schema,
                name=t.name,
                kind=t.kind,
                comment=t.comment,
                columns=t.columns,
                estimated_rows=t.estimated_rows,
                total_bytes=t.total_bytes,
                rls_enabled=t.rls_enabled,
            )
        uniques: dict[str, list[tuple[str, ...]]] = {}
        checks: dict[str, list[str]] = {}
        policies: dict[str, list[tuple[str, str, str | None]]] = {}
        indexes: dict[str, list[tuple[str, bool, tuple[str, ...]]]] = {}
        commands = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
        for kind, schema, name, payload in extras:
            qn = f"{schema}.{name}"
            table = indexed.get(qn)
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
                    edge = ForeignKeyEdge(conname, qn, tuple(cols), f"{ref_schema}.{ref_name}", tuple(ref_cols))
                    table.fks_out.append(edge)
                    target = indexed.get(edge.ref_table)
                    if target is not None:
                        target.fks_in.append(edge)
            elif kind == "p":
                polname, cmd, using = payload
                policies.setdefault(qn, []).append((polname, commands.get(cmd, cmd), using))
            elif kind == "i":
                iname, unique, cols = payload
                indexes.setdefault(qn, []).append((iname, bool(unique), tuple(cols)))
        for qn, table in indexed.items():
            table.unique_keys = tuple(uniques.get(qn, ()))
            table.checks = tuple(sorted(checks.get(qn, ())))
            table.policies = tuple(sorted(policies.get(qn, ())))
            table.indexes = tuple(sorted(indexes.get(qn, ())))
            table.fks_out.sort(key=lambda e: e.name)
            table.fks_in.sort(key=lambda e: (e.table, e.name))
        return cls(list(indexed.values()))

    @classmethod
    def from_connection(
        cls, conn: psycopg.Connection[Any], *, statement_timeout_ms: int = 30_000, exclude_app_objects: bool = False
    ) -> SchemaIndex:
        """Two catalog round trips (plus transaction bookkeeping) whatever the number of tables.

        ``exclude_app_objects``: leave out the app's own tables (the connection is the workspace database).
        """
        from dba_admin import catalog

        tables = catalog.list_tables(
            conn, statement_timeout_ms=statement_timeout_ms, exclude_app_objects=exclude_app_objects
        )
        return cls.from_catalog(tables, load_extras(conn, statement_timeout_ms=statement_timeout_ms))

    def _add(self, key: str, number: int, weight: float, label: str, column: str | None) -> None:
        posting = self._postings.setdefault(key, {})
        current = posting.get(number)
        if current is None or current[0] < weight:
            posting[number] = (weight, label, column)

    def _add_terms(self, number: int, text: str | None, weight: float, label: str, column: str | None) -> None:
        if not text:
            return
        for term in terms(text[:COMMENT_INDEX_CHARS]):  # a 1 MB comment is not worth indexing whole
            self._add(term, number, weight, label, column)
            if len(term) >= PREFIX_LEN:
                self._prefixes.setdefault(term[:PREFIX_LEN], set()).add(term)
            concept = CONCEPTS.get(term)
            if concept is not None:
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
        q_terms = list(dict.fromkeys(terms(question)))
        scores: dict[int, float] = {}
        reasons: dict[int, list[str]] = {}
        matched_columns: dict[int, dict[str, float]] = {}
        matched_terms: dict[int, list[str]] = {}
        for q in q_terms:
            best: dict[int, tuple[float, str]] = {}
            keys: list[tuple[str, float, str]] = [(q, 1.0, q)]
            concept = CONCEPTS.get(q)
            if concept is not None:
                keys.append(("~" + concept, CONCEPT_FACTOR, f"{q}≈{concept}"))
            if len(q) >= PREFIX_LEN and q not in self._postings:
                keys.extend(
                    (other, PREFIX_FACTOR, f"{q}~{other}")
                    for other in sorted(self._prefixes.get(q[:PREFIX_LEN], ()))
                    if other != q
                )
            for key, factor, label in keys:
                posting = self._postings.get(key)
                if not posting:
                    continue
                idf = self._idf[key]
                for number, (weight, field_label, column) in posting.items():
                    value = weight * factor * idf
                    where = f"{field_label} {column}" if column and field_label.startswith("column") else field_label
                    if number not in best or best[number][0] < value:
                        best[number] = (value, f"{where} matches '{label}'")
                    if column is not None:
                        cols = matched_columns.setdefault(number, {})
                        cols[column] = cols.get(column, 0.0) + value
            for number, (value, why) in best.items():
                scores[number] = scores.get(number, 0.0) + value
                reasons.setdefault(number, []).append(why)
                matched_terms.setdefault(number, []).append(q)

        # Tables named in the question ("order_items", "appointment reminders", "itens do pedido").
        q_set = set(q_terms)
        q_concepts = {CONCEPTS.get(q, q) for q in q_terms}
        for number in list(scores):
            name_terms = self._name_terms[number]
            if not name_terms:
                continue
            name_concepts = {CONCEPTS.get(t, t) for t in name_terms}
            if set(name_terms) <= q_set:
                scores[number] += EXPLICIT_NAME_BONUS * len(set(name_terms))
                reasons[number].insert(0, "named in the question")
            elif name_concepts <= q_concepts:
                scores[number] += EXPLICIT_NAME_BONUS * len(name_concepts)
                reasons[number].insert(0, "its name is a synonym of words in the question")

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

        ranked = sorted(scores, key=lambda j: (-scores[j], self.tables[j].qualified_name))[:limit]
        out = []
        for j in ranked:
            cols = matched_columns.get(j, {})
            out.append(
                TableMatch(
                    table=self.tables[j],
                    score=round(scores[j], 4),
                    reasons=tuple(dict.fromkeys(reasons.get(j, []))),
                    columns=tuple(sorted(cols, key=lambda c: -cols[c])[:5]),
                    matched_terms=tuple(matched_terms.get(j, ())),
                    question_terms=len(q_terms),
                )
            )
        return out

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
        """Shortest foreign-key path (breadth-first, ties broken by name for determinism)."""
        if source not in self.by_name or target not in self.by_name:
            return None
        if source == target:
            return JoinPath((source,), ())
        previous: dict[str, tuple[str, ForeignKeyEdge]] = {}
        seen = {source}
        queue = deque([source])
        while queue:
            current = queue.popleft()
            for other, fk in self._neighbours.get(current, []):
                if other in seen:
                    continue
                seen.add(other)
                previous[other] = (current, fk)
                if other == target:
                    queue.clear()
                    break
                queue.append(other)
        if target not in previous:
            return None
        chain: list[str] = [target]
        edges: list[ForeignKeyEdge] = []
        node = target
        while node != source:
            parent, fk = previous[node]
            edges.append(fk)
            chain.append(parent)
            node = parent
        chain.reverse()
        edges.reverse()
        return JoinPath(tuple(chain), tuple(edges))

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
        return f"{qn}({', '.join(shown)}{extra})"
    fk_by_col: dict[str, str] = {}
    for fk in table.fks_out:
        if len(fk.columns) == 1:
            fk_by_col[fk.columns[0]] = f"{qualified_ident(fk.ref_table)}({', '.join(map(_ident, fk.ref_columns))})"
    pk = set(table.primary_key) if len(table.primary_key) == 1 else set()
    head_bits = []
    if table.kind != "table":
        head_bits.append(table.kind.replace("_", " "))
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
