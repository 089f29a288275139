"""The offline assistant: deterministic, fast answers from the catalog alone (no key, no network).

It covers the questions a team asks most, in English or Portuguese:

* "which table holds X / onde fica Y"  -> ranked tables and columns, with why each matched;
* "describe T / descreva T"             -> columns, keys, indexes, policies, size, rows;
* "how do I join A and B / como juntar" -> the shortest foreign-key path and the SELECT with its JOINs;
* "count / list / latest ... of T"      -> a starter SELECT on the best-matching table (checked by caller);
* an error message                      -> what it means and the closest real names from the catalog.

It is honest about uncertainty: when nothing matches it says so instead of guessing, and every answer says
which tables it looked at. Plans ("explain this query", "suggest an index") are read from EXPLAIN JSON.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dba_admin.assistant.nl2sql import (
    QueryPlan,
    Unplanned,
    _from_lines,
    _related,
    allowed_values,
    enum_values,
    mentioned_tables,
    plan_question,
    time_column,
)
from dba_admin.assistant.schema_index import (
    CONCEPTS,
    IndexedTable,
    JoinPath,
    SchemaIndex,
    TableMatch,
    fold,
    qualified_ident,
    terms,
    words,
)
from dba_admin.sql_text import tokenize

__all__ = [
    "IndexSuggestion",
    "OfflineAnswer",
    "OfflineProvider",
    "describe_plan",
    "detect_language",
    "suggest_indexes_from_plan",
    "tables_in_sql",
]


@dataclass(frozen=True)
class OfflineAnswer:
    text: str
    sql: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    intent: str = "find"
    matches: tuple[TableMatch, ...] = field(default=(), repr=False)


# --------------------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------------------

_PT_MARKERS = frozenset(
    """qual quais onde como que quantos quantas tabela tabelas fica ficam guarda guardado esta estao sao os
    as da do das dos de em no na nos nas um uma para com por pelo pela nao sim ultimos ultimas descreva
    liste mostre juntar ligar relacionar entre meu minha erro existe coluna colunas cliente clientes
    pedido pedidos pagamento pagamentos agendamento agendamentos consulta consultas mensagem mensagens
    produto produtos campanha campanhas lembrete lembretes conversa conversas servico servicos preco
    telefone estoque porque quando voce""".split()  # noqa: SIM905
)
_EN_MARKERS = frozenset(
    """which what where how the is are of in on to do does table tables holds stored count list latest
    describe join show many with and from for customer customers order orders payment payments
    appointment appointments message messages product products campaign campaigns reminder reminders
    conversation service services price phone stock why error""".split()  # noqa: SIM905
)


def detect_language(text: str) -> str:
    """ "pt" or "en", by function words (accented letters count for Portuguese)."""
    ws = words(text)
    pt = sum(w in _PT_MARKERS for w in ws) + 2 * len(re.findall(r"[ãõçáéíóúâêô]", text.lower()))
    en = sum(w in _EN_MARKERS for w in ws)
    return "pt" if pt > en else "en"


def _t(lang: str, en: str, pt: str) -> str:
    return pt if lang == "pt" else en


# --------------------------------------------------------------------------------------------------
# Intents
# --------------------------------------------------------------------------------------------------

_ERROR_HINTS = re.compile(
    r"(does not exist|nao existe|permission denied|permissao negada|syntax error|erro de sintaxe|"
    r"row-level security|row level security|seguranca em nivel de linha|violates|viola|missing from-clause|"
    r"sqlstate|^\s*(error|erro|fatal)\b|\b(42703|42p01|42501|42601|42883|42804|22p02|57014|23505|23503)\b|"
    r"ambiguous|ambigua|is ambiguous|must appear in the group by|deve aparecer na clausula group by|"
    r"invalid input syntax|sintaxe de entrada invalida|operator does not exist|operador nao existe|"
    r"invalid input value|valor de entrada (?:e )?invalido|"
    r"statement timeout|canceling statement|has not been populated|nao foi populad|\berror:\s|\berro:\s)",
    re.IGNORECASE | re.MULTILINE,
)
_JOIN_WORDS = re.compile(
    r"\b(join|joins|joining|juntar|junto|junte|juncao|ligar|ligo|ligacao|relacionar|relaciono|relate|relates|"
    r"relationship|relationships|relacao entre|relacionamento|connect|connects|conectar|conecto|combine|"
    r"combinar|cruzar|cruzo|path between|caminho entre|link|linked|vincular|"
    r"ligam|liga|ligad[oa]s?|ligam-se|se ligam|related|relacionad[oa]s?|relacionam|connected|conectad[oa]s?|"
    r"vinculad[oa]s?|path from|paths? to|caminho d[eoa]s?|caminho ate|get from|chegar de|chego de|go from|"
    r"ir de|vou de)\b",
    re.IGNORECASE,
)
_DESCRIBE_WORDS = re.compile(
    r"\b(describe|descreva|descrever|descricao|estrutura|structure|schema of|esquema d[aeo]|columns of|"
    r"colunas d[aeo]s?|what is in|o que (?:tem|ha) n[ao]|details of|detalhes d[aeo]|show table|mostre a "
    r"tabela|"
    r"definition of|definicao d[aeo]|ddl|(?:what|which) (?:columns|fields)|columns does|fields does|"
    r"(?:quais|que) (?:sao )?(?:as )?(?:colunas|campos)|colunas (?:tem|possui|existem)|campos d[aeo]s?)\b",
    re.IGNORECASE,
)
# "which table stores X", "where are X kept", "em qual tabela fica X": a question about the catalog, not the data.
_FIND_WORDS = re.compile(
    r"\b(which tables?|what tables?|in which table|where (?:is|are|do|does|can)\b.*\b(?:kept|stored|saved|recorded|"
    r"live|found)|qual tabela|quais tabelas|em qu(?:e|al) tabela|onde (?:fica|ficam|esta|estao|sao|e) "
    r"(?:guardad|armazenad|registrad|salv)?|onde ficam|onde fica|where (?:is|are) (?:the )?)",
    re.IGNORECASE,
)
_COUNT_WORDS = re.compile(
    r"\b(how many|count|counts|number of|quantos|quantas|quantidade de|contar|conte|contagem|numero "
    r"de|total de)\b",
    re.IGNORECASE,
)
_LATEST_WORDS = re.compile(
    r"\b(latest|last|most recent|newest|recent|ultimos|ultimas|ultimo|ultima|mais "
    r"recentes?|recentes?|novos|novas)\b",
    re.IGNORECASE,
)
_LIST_WORDS = re.compile(
    r"\b(list|show me|show all|show the|give me|listar|liste|lista|mostre|mostrar|exiba|exibir|quais sao os|"
    r"quais sao as|select|sample|exemplos?|examples?)\b",
    re.IGNORECASE,
)
_GROUP_WORDS = re.compile(r"\b(?:per|by|por|each|cada|grouped by|agrupad[oa]s? por)\s+([a-z_]+)", re.IGNORECASE)


_HOLDS = re.compile(
    r"\b(?:stores?|holds?|keeps?|contains?|has|have|records?|guarda[mr]?|armazena[mr]?|contem|tem|registra[mr]?|"
    r"fica[mr]?|ficam)\s+(?:the\s+|os\s+|as\s+|o\s+|a\s+)?(.+?)\s+(?:of|for|from|dos|das|do|da|de)\s+\w"
)


def _holder_first(question: str, matches: Sequence[TableMatch]) -> list[TableMatch]:
    """ "which table stores the phone numbers of customers?": the table holding a column named like the data
    words (phone) comes before the entity named after "of" (customers), which is only where the data belongs."""
    found = _HOLDS.search(fold(question))
    out = list(matches)
    if found is None or len(out) < 2:
        return out
    data_terms = [t for t in terms(found.group(1)) if t not in ("number", "numero", "num")] or terms(found.group(1))
    if not data_terms:
        return out

    def holds(m: TableMatch) -> bool:
        return any(
            any(_related(d, c) for d in data_terms for c in terms(col.name) if c not in ("id",))
            for col in m.table.columns
        )

    if holds(out[0]):
        return out
    first = next((m for m in out if holds(m)), None)
    if first is None:
        return out
    return [first, *[m for m in out if m is not first]]


class OfflineProvider:
    """Answers from a SchemaIndex; no network, same answer for the same question and catalog."""

    model = "offline"

    def __init__(self, index: SchemaIndex) -> None:
        self.index = index

    # -- entry point --------------------------------------------------------------------------------

    def answer(self, question: str, *, history_tables: Sequence[str] = (), sql: str | None = None) -> OfflineAnswer:
        lang = detect_language(question)
        folded = fold(question)
        if _ERROR_HINTS.search(folded):
            return self.explain_error(question, sql=sql, lang=lang)
        if _JOIN_WORDS.search(folded):
            joined = self._join(question, folded, lang, history_tables)
            if joined is not None:
                return joined
        if _DESCRIBE_WORDS.search(folded):
            described = self._describe(question, folded, lang, history_tables)
            if described is not None:
                return described
        if _FIND_WORDS.search(folded) and not _COUNT_WORDS.search(folded):
            return self._find(question, lang, history_tables)
        planned = plan_question(self.index, question, history_tables)
        if isinstance(planned, QueryPlan):
            return self._planned(planned, lang)
        if isinstance(planned, Unplanned):
            return self._unplanned(planned, lang)
        if _COUNT_WORDS.search(folded) or _LATEST_WORDS.search(folded) or _LIST_WORDS.search(folded):
            starter = self._starter(question, folded, lang, history_tables)
            if starter is not None:
                return starter
        return self._find(question, lang, history_tables)

    # -- analytical questions (nl2sql) ----------------------------------------------------------------

    def _planned(self, plan: QueryPlan, lang: str) -> OfflineAnswer:
        """The planner's SELECT, introduced by what it computes (a valid check only means PostgreSQL plans it)."""
        lines = [plan.summary(lang), _fence(plan.sql)]
        rls = [name for name in plan.tables if (t := self.index.by_name.get(name)) is not None and t.rls_enabled]
        if rls:
            lines.append(
                _t(
                    lang,
                    f"RLS is on for {', '.join(rls)}: as the read-only role you may see fewer rows (or none).",
                    f"RLS está ativado em {', '.join(rls)}: como papel somente leitura você pode ver menos linhas.",
                )
            )
        return OfflineAnswer("\n".join(lines), (plan.sql,), plan.tables, plan.intent)

    def _unplanned(self, unplanned: Unplanned, lang: str) -> OfflineAnswer:
        """No query rather than an unrelated one: what was missing, and the tables that might hold the answer."""
        lines = [unplanned.reason(lang)]
        if unplanned.candidates:
            lines.append(
                _t(lang, "Candidate tables: ", "Tabelas candidatas: ")
                + ", ".join(f"**{name}**" for name in unplanned.candidates)
            )
        lines.append(
            _t(
                lang,
                "Name the table and column (for example 'sum of amount in payments per customer'), or ask Gemini.",
                "Cite a tabela e a coluna (por exemplo 'soma de valor em pagamentos por cliente') ou pergunte ao "
                "Gemini.",
            )
        )
        return OfflineAnswer("\n".join(lines), (), unplanned.candidates, "unsure")

    # -- which table holds X --------------------------------------------------------------------------

    def _find(self, question: str, lang: str, history_tables: Sequence[str]) -> OfflineAnswer:
        matches = self.index.search(question, limit=5, history_tables=history_tables)
        if not matches:
            text = _t(
                lang,
                "No table, column or comment in this database matches those words. Try the table's own name, "
                "or describe the data differently (for example 'phone number' or 'payment status').",
                "Nenhuma tabela, coluna ou comentário deste banco corresponde a essas palavras. Tente o nome "
                "da tabela ou descreva o dado de outro jeito (por exemplo 'telefone' ou 'status do "
                "pagamento').",
            )
            return OfflineAnswer(text, (), (), "find", ())
        matches = _holder_first(question, matches)
        covered = {t for m in matches for t in m.matched_terms}
        asked = matches[0].question_terms
        if asked and len(covered) / asked < 0.5 and matches[0].coverage < 0.5 and not history_tables:
            weak = ", ".join(f"{m.table.qualified_name} ('{', '.join(m.matched_terms)}')" for m in matches[:3])
            text = _t(
                lang,
                f"No table clearly matches: most words of the question appear nowhere in the catalog. "
                f"Weak candidates (matched word in brackets): {weak}. Rephrase, or name the table.",
                f"Nenhuma tabela corresponde claramente: a maioria das palavras não aparece no catálogo. "
                f"Candidatas fracas (palavra encontrada entre parênteses): {weak}. "
                "Reformule ou cite a tabela.",
            )
            return OfflineAnswer(text, (), tuple(m.table.qualified_name for m in matches[:3]), "find", tuple(matches))
        best = matches[0].score
        lines = [_t(lang, "Most likely tables, best first:", "Tabelas mais prováveis, da melhor para a pior:")]
        for m in matches:
            t = m.table
            confidence = m.score / best if best else 0.0
            label = (
                _t(lang, "strong", "forte")
                if confidence > 0.7
                else (_t(lang, "possible", "possível") if confidence > 0.35 else _t(lang, "weak", "fraca"))
            )
            comment = f" — {_comment_md(t.comment, 110)}" if t.comment else ""
            lines.append(f"- **{t.qualified_name}** ({label}){comment}")
            if m.columns:
                cols = ", ".join(f"`{c}`" for c in m.columns[:4])
                lines.append(f"  - {_t(lang, 'columns', 'colunas')}: {cols}")
            why = "; ".join(m.reasons[:3])
            lines.append(f"  - {_t(lang, 'why', 'por quê')}: {why}")
        if len(matches) > 1 and matches[1].score > 0.85 * best:
            lines.append(
                _t(
                    lang,
                    "The first two are close: check their comments and columns before choosing.",
                    "As duas primeiras estão próximas: confira comentários e colunas antes de escolher.",
                )
            )
        top = matches[0].table
        sql = [_select_sql(top, columns=list(matches[0].columns[:4]) or None, limit=20)]
        lines.append(_t(lang, "A query to look at the data:", "Uma consulta para ver os dados:"))
        lines.append(_fence(sql[0]))
        return OfflineAnswer(
            "\n".join(lines),
            tuple(sql),
            tuple(m.table.qualified_name for m in matches),
            "find",
            tuple(matches),
        )

    # -- describe ----------------------------------------------------------------------------------------

    def _target(self, question: str, folded: str, history_tables: Sequence[str]) -> IndexedTable | None:
        named = self._named_tables(question)
        if named:
            return named[0]
        matches = self.index.search(question, limit=1, history_tables=history_tables, neighbours=False)
        return matches[0].table if matches else None

    def _named_tables(self, question: str) -> list[IndexedTable]:
        """Tables whose exact name (bare or qualified) appears in the text, in order of appearance."""
        found: list[IndexedTable] = []
        for token in re.findall(r'"?[A-Za-z_][\w$]*"?(?:\."?[A-Za-z_][\w$]*"?)?', question):
            table = self.index.get(token.replace('"', ""))
            if table is not None and table not in found:
                found.append(table)
        return found

    def _describe(self, question: str, folded: str, lang: str, history_tables: Sequence[str]) -> OfflineAnswer | None:
        table = self._target(question, folded, history_tables)
        if table is None:
            return None
        return self.describe(table, lang)

    def describe(self, table: IndexedTable, lang: str = "en", detail: Any = None) -> OfflineAnswer:
        """Columns, keys, indexes, policies, size and rows of a table (``detail``: a catalog TableDetail)."""
        lines = [f"**{table.qualified_name}** ({table.kind})"]
        if table.comment:
            lines.append(_comment_md(table.comment, 400))
        rows = table.estimated_rows
        size = getattr(getattr(detail, "sizes", None), "total_bytes", None) or table.total_bytes
        facts = [
            _t(lang, "rows (estimate)", "linhas (estimativa)") + f": {rows if rows is not None else '?'}",
            _t(lang, "size", "tamanho") + f": {_human_bytes(size)}",
            "RLS: " + (_t(lang, "on", "ativado") if table.rls_enabled else _t(lang, "OFF", "DESATIVADO")),
        ]
        lines.append(" · ".join(facts))
        lines.append("")
        lines.append(_t(lang, "Columns:", "Colunas:"))
        pk = set(table.primary_key)
        for col in table.columns:
            marks = []
            if col.name in pk:
                marks.append("PK")
            fk = table.fk_for_column(col.name)
            if fk is not None:
                marks.append(f"→ {fk.ref_table}({', '.join(fk.ref_columns)})")
            if not col.nullable and col.name not in pk:
                marks.append("NOT NULL")
            if col.default:
                marks.append(f"default {_one_line(col.default, 40)}")
            comment = f" — {_comment_md(col.comment, 100)}" if col.comment else ""
            lines.append(f"- `{col.name}` {col.type} {' '.join(marks)}{comment}".rstrip())
        if table.fks_in:
            lines.append("")
            lines.append(_t(lang, "Referenced by:", "Referenciada por:"))
            lines.extend(f"- {fk.table}({', '.join(fk.columns)})" for fk in table.fks_in)
        if table.indexes:
            lines.append("")
            lines.append(_t(lang, "Indexes:", "Índices:"))
            for name, unique, cols in table.indexes:
                lines.append(f"- {name}: ({', '.join(cols)})" + (" UNIQUE" if unique else ""))
        lines.append("")
        if table.policies:
            lines.append(_t(lang, "Row level security policies:", "Políticas de RLS:"))
            for name, cmd, using in table.policies:
                lines.append(f"- {name} ({cmd})" + (f": USING {_one_line(using, 160)}" if using else ""))
        elif table.rls_enabled:
            lines.append(
                _t(
                    lang,
                    "RLS is on with no policy: API roles (anon/authenticated) see no rows; only the owner or "
                    "service_role does.",
                    "RLS ativado sem política: papéis da API (anon/authenticated) não veem linhas; só o dono "
                    "ou service_role.",
                )
            )
        elif table.schema == "public" and table.kind == "table":
            lines.append(
                _t(
                    lang,
                    "Warning: RLS is OFF on a table in the exposed schema public: any API role with a grant "
                    "reads every row.",
                    "Atenção: RLS DESATIVADO numa tabela do schema exposto public: qualquer papel da API com "
                    "permissão lê todas as linhas.",
                )
            )
        sql = _select_sql(table, limit=50)
        lines.append("")
        lines.append(_fence(sql))
        return OfflineAnswer("\n".join(lines), (sql,), (table.qualified_name,), "describe")

    # -- join ----------------------------------------------------------------------------------------------

    def _join_sides(self, question: str, folded: str, history_tables: Sequence[str]) -> list[IndexedTable]:
        named = self._named_tables(question)
        if len(named) >= 2:
            return named[:2]
        # tables named by their words, stems or synonyms, wherever they stand ("how are films linked to actors?")
        mentioned = [t for t in mentioned_tables(self.index, question) if t.populated]
        if len(mentioned) >= 3:
            # "from a payslip to the employee's department", "um holerite ao departamento do funcionário": the
            # pair whose path passes through the other named tables
            def covered(target: IndexedTable) -> int:
                path = self.index.join_path(mentioned[0].qualified_name, target.qualified_name)
                return len({t.qualified_name for t in mentioned} & set(path.tables)) if path else 0

            return [mentioned[0], max(mentioned[1:], key=lambda t: (covered(t), mentioned.index(t)))]
        if len(mentioned) >= 2:
            return [mentioned[0], mentioned[-1]]
        keyword = _JOIN_WORDS.search(folded)
        rest = folded[keyword.end() :] if keyword else folded
        pieces = [
            p
            for p in re.split(
                r"\b(?:and|with|to|e|com|a|ao|aos|as|para|x|vs|versus|entre|between|from|de)\b|[,&+/]", rest
            )
            if terms(p)
        ]
        sides: list[IndexedTable] = []
        if len(pieces) >= 2:
            for piece in (pieces[0], pieces[-1]):
                table = self.index.resolve(piece)
                if table is not None and table not in sides:
                    sides.append(table)
        if len(sides) < 2:
            for m in self.index.search(question, limit=4, history_tables=history_tables, neighbours=False):
                if m.table not in sides:
                    sides.append(m.table)
                if len(sides) == 2:
                    break
        return sides

    def _join(self, question: str, folded: str, lang: str, history_tables: Sequence[str]) -> OfflineAnswer | None:
        sides = self._join_sides(question, folded, history_tables)
        if len(sides) < 2:
            return None
        return self.join(sides[0].qualified_name, sides[1].qualified_name, lang)

    def join(self, source: str, target: str, lang: str = "en") -> OfflineAnswer:
        path = self.index.join_path(source, target)
        if path is None:
            text = _t(
                lang,
                f"There is no foreign-key path between {source} and {target}, so any join between them would "
                "rest on a guess (a shared column without a constraint). Compare their columns before "
                "joining.",
                f"Não há caminho de chaves estrangeiras entre {source} e {target}; qualquer junção seria um "
                "palpite (uma coluna em comum sem restrição). Compare as colunas antes de juntar.",
            )
            return OfflineAnswer(text, (), (source, target), "join")
        sql = join_sql(self.index, path)
        hops = len(path.edges)
        steps = [
            f"- {fk.table}({', '.join(fk.columns)}) → {fk.ref_table}({', '.join(fk.ref_columns)})" for fk in path.edges
        ]
        head = _t(
            lang,
            f"Shortest foreign-key path from {source} to {target} ({hops} join{'s' if hops != 1 else ''}):",
            f"Caminho mais curto por chaves estrangeiras de {source} até {target} ({hops} junç"
            f"{'ões' if hops != 1 else 'ão'}):",
        )
        text = "\n".join([head, " → ".join(path.tables), *steps, "", _fence(sql)])
        return OfflineAnswer(text, (sql,), path.tables, "join")

    # -- count / list / latest ----------------------------------------------------------------------

    def _starter(self, question: str, folded: str, lang: str, history_tables: Sequence[str]) -> OfflineAnswer | None:
        named = self._named_tables(question)
        matches = self.index.search(question, limit=5, history_tables=history_tables, neighbours=False)
        table = named[0] if named else (matches[0].table if matches else None)
        if table is None:
            return None
        conditions = _value_filters(table, question)
        where = ""
        if conditions:
            where = " WHERE " + " AND ".join(f"{_q(col)} = {_literal(val)}" for col, val in conditions)
        from_clause = f"FROM {qualified_ident(table.qualified_name)}"
        group_col = _group_column(table, folded)
        if _COUNT_WORDS.search(folded):
            intent = "count"
            if group_col:
                sql = (
                    f"SELECT {_q(group_col)}, count(*) AS total {from_clause}{where} GROUP BY "
                    f"{_q(group_col)} "
                    "ORDER BY total DESC"
                )
            else:
                sql = f"SELECT count(*) AS total {from_clause}{where}"
        elif _LATEST_WORDS.search(folded):
            intent = "latest"
            order = time_column(table, terms(folded)) or (table.primary_key[0] if table.primary_key else None)
            cols = _display_columns(table)
            sql = f"SELECT {', '.join(map(_q, cols))} {from_clause}{where}"
            if order:
                sql += f" ORDER BY {_q(order)} DESC NULLS LAST"
            sql += " LIMIT " + str(_limit_in(folded, 10))
        else:
            intent = "list"
            cols = _display_columns(table)
            sql = f"SELECT {', '.join(map(_q, cols))} {from_clause}{where}"
            if table.primary_key:
                sql += " ORDER BY " + ", ".join(map(_q, table.primary_key))
            sql += " LIMIT " + str(_limit_in(folded, 50))
        lines = [
            _t(
                lang,
                f"A starter query on **{table.qualified_name}**",
                f"Uma consulta inicial em **{table.qualified_name}**",
            )
            + (f" — {_comment_md(table.comment, 140)}" if table.comment else ""),
            _fence(sql),
        ]
        if conditions:
            lines.append(
                _t(
                    lang,
                    "Filter taken from the allowed values of ",
                    "Filtro tirado dos valores permitidos de ",
                )
                + ", ".join(f"`{c}`" for c, _ in conditions)
                + "."
            )
        others = [m.table.qualified_name for m in matches if m.table is not table][:3]
        if others:
            lines.append(_t(lang, "Other candidate tables: ", "Outras tabelas candidatas: ") + ", ".join(others))
        if table.rls_enabled:
            lines.append(
                _t(
                    lang,
                    "RLS is on for this table: run as the read-only role you may see fewer rows (or none).",
                    "RLS está ativado: como papel somente leitura você pode ver menos linhas (ou nenhuma).",
                )
            )
        tables = (table.qualified_name, *others)
        return OfflineAnswer("\n".join(lines), (sql,), tables, intent, tuple(matches))

    # -- errors -----------------------------------------------------------------------------------

    def explain_error(self, error: str, *, sql: str | None = None, lang: str | None = None) -> OfflineAnswer:
        """What a PostgreSQL error means and the closest real names (English or Portuguese messages)."""
        lang = lang or detect_language(error)
        text = fold(error)
        sql = _sql_in_text(sql or error) or sql
        sql_tables = tables_in_sql(self.index, sql) if sql else []
        lines: list[str] = []
        suggestions: list[str] = []
        tables: list[str] = [t.qualified_name for t in sql_tables]

        col = re.search(r'(?:column|coluna)\s+"?([\w$.]+)"?\s+(?:does not exist|nao existe)', text)
        rel = re.search(
            r'(?:relation|relacao|table|tabela)\s+"?([\w$.]+)"?\s+(?:does not exist|nao existe)', text
        ) or re.search(r'missing from-clause entry for table "?([\w$]+)"?', text)
        perm = re.search(
            r"(?:permission denied for|permissao negada "
            r"para)\s+(?:table|tabela|relation|relacao|schema|esquema)?\s*\"?([\w$.]+)",
            text,
        )
        rls = re.search(r"row[- ]level security|seguranca em nivel de linha", text)
        syntax = re.search(r'(?:syntax error at or near|erro de sintaxe em ou proximo a)\s+"?([^"\n]*)"?', text)
        syntax_end = re.search(r"syntax error at end of input|erro de sintaxe no fim da entrada", text)
        ambiguous = re.search(
            r'(?:column reference|referencia a coluna)\s+"?([\w$]+)"?\s+(?:is ambiguous|e ambigua)', text
        )
        group = re.search(r'column "?([\w$.]+)"? must appear in the group by|coluna "?([\w$.]+)"? deve aparecer', text)
        enum_bad = re.search(
            r"(?:invalid input value for enum|valor de entrada (?:e )?invalido para (?:o )?enum)"
            r'\s+"?([\w$.]+)"?:\s*"([^"]*)"',
            text,
        )
        check_bad = re.search(r'(?:relation|relacao) "?([\w$]+)"? violates check constraint "?([\w$]+)"?', text)
        unpopulated = re.search(r'materialized view "?([\w$.]+)"? has not been populated', text)
        corrected: list[str] = []

        if col:
            name = col.group(1)
            bare = name.split(".")[-1]
            lines.append(
                _t(
                    lang,
                    f"**Undefined column (42703)**: no table in the query has a column named `{bare}`.",
                    f"**Coluna inexistente (42703)**: nenhuma tabela da consulta tem a coluna `{bare}`.",
                )
            )
            scope = sql_tables or self.index.tables
            suggestions = _closest_columns(self.index, bare, scope)
            if suggestions:
                lines.append(
                    _t(lang, "Closest real columns: ", "Colunas reais mais próximas: ")
                    + ", ".join(f"`{s}`" for s in suggestions)
                )
            # The column may live in another table: every table's columns are searched, not only the query's.
            elsewhere = [s for s in _closest_columns(self.index, bare, self.index.tables) if s not in suggestions]
            if elsewhere:
                lines.append(
                    _t(lang, "In other tables (a join is needed): ", "Em outras tabelas (é preciso um JOIN): ")
                    + ", ".join(f"`{s}`" for s in elsewhere[:4])
                )
            if sql and suggestions:
                fixed = _replace_identifier(sql, bare, suggestions[0].rsplit(".", 1)[-1])
                if fixed != sql:
                    corrected.append(fixed)
            lines.append(
                _t(
                    lang,
                    "If you meant a text value, use single quotes: 'value' (double quotes name a column).",
                    "Se era um valor de texto, use aspas simples: 'valor' (aspas duplas indicam uma coluna).",
                )
            )
            for s in suggestions:
                owner = self.index.get(s.rsplit(".", 1)[0])
                if owner is not None:
                    tables.append(owner.qualified_name)
        elif rel:
            name = rel.group(1)
            lines.append(
                _t(
                    lang,
                    f"**Undefined table (42P01)**: there is no table or view `{name}` visible in the search path.",
                    f"**Tabela inexistente (42P01)**: não existe tabela ou view `{name}` visível no search_path.",
                )
            )
            suggestions = _closest_tables(self.index, name)
            if suggestions:
                lines.append(
                    _t(lang, "Closest real tables: ", "Tabelas reais mais próximas: ")
                    + ", ".join(f"`{s}`" for s in suggestions)
                )
            lines.append(
                _t(
                    lang,
                    "Qualify the name with its schema (public.orders) and check the spelling; names are "
                    "case-sensitive only when created with double quotes.",
                    "Qualifique o nome com o schema (public.orders) e confira a grafia; nomes só diferenciam "
                    "maiúsculas quando criados com aspas duplas.",
                )
            )
            tables += suggestions
        elif perm:
            name = perm.group(1)
            table = self.index.get(name)
            lines.append(
                _t(
                    lang,
                    f"**Permission denied (42501)** on `{name}`: the role running the query has no privilege "
                    "on it. SQL typed by non-admins runs as the read-only role, which can only SELECT "
                    "tables in "
                    "public; the app's private schema (dba_admin) and auth are never granted to it.",
                    f"**Permissão negada (42501)** em `{name}`: o papel que executa a consulta não tem "
                    "privilégio "
                    "nela. SQL de não-administradores roda como o papel somente leitura, que só faz "
                    "SELECT em "
                    "public; o schema privado (dba_admin) e auth nunca são concedidos a ele.",
                )
            )
            if table is None and "." not in name:
                suggestions = _closest_tables(self.index, name)
            if table is not None:
                tables.append(table.qualified_name)
        elif rls:
            named = self._named_tables(error)
            lines.append(
                _t(
                    lang,
                    "**Row level security**: a policy refused the row. For INSERT/UPDATE the new row must "
                    "satisfy the policy's WITH CHECK; for SELECT, rows the USING clause rejects are silently "
                    "filtered out (no error, just fewer rows).",
                    "**Segurança em nível de linha (RLS)**: uma política recusou a linha. Em INSERT/UPDATE a "
                    "nova linha precisa satisfazer o WITH CHECK; em SELECT, linhas rejeitadas pelo USING são "
                    "filtradas em silêncio (sem erro, só menos linhas).",
                )
            )
            for table in named[:2]:
                tables.append(table.qualified_name)
                if table.policies:
                    lines.append(f"{table.qualified_name}:")
                    lines.extend(
                        f"- {n} ({c})" + (f" USING {_one_line(u, 160)}" if u else "") for n, c, u in table.policies
                    )
                else:
                    lines.append(
                        f"{table.qualified_name}: "
                        + _t(
                            lang,
                            "no policy (nothing passes for API roles)",
                            "nenhuma política (nada passa para papéis da API)",
                        )
                    )
        elif syntax or syntax_end:
            near = syntax.group(1).strip() if syntax else ""
            lines.append(
                _t(
                    lang,
                    f"**Syntax error (42601)**{f' near `{near}`' if near else ' at the end of the text'}: "
                    "PostgreSQL could not parse the statement there.",
                    f"**Erro de sintaxe (42601)**{f' perto de `{near}`' if near else ' no fim do texto'}: "
                    "o PostgreSQL não conseguiu interpretar o comando nesse ponto.",
                )
            )
            lowered = near.lower()
            if lowered in _COMMON_RESERVED:
                lines.append(
                    _t(
                        lang,
                        f"`{near}` is a reserved word: as a column or table name it must be double-quoted "
                        f'("{lowered}").',
                        f'`{near}` é palavra reservada: como nome de coluna ou tabela use aspas duplas ("{lowered}").',
                    )
                )
            lines.append(
                _t(
                    lang,
                    "Common causes: a missing or extra comma before FROM/WHERE, an unclosed quote or "
                    "parenthesis, "
                    "a keyword out of order (WHERE after GROUP BY), or MySQL syntax (backticks, LIMIT a,b).",
                    "Causas comuns: vírgula faltando ou sobrando antes de FROM/WHERE, aspas ou "
                    "parênteses sem "
                    "fechar, palavra-chave fora de ordem (WHERE depois de GROUP BY) ou sintaxe do MySQL "
                    "(crases, LIMIT a,b).",
                )
            )
        elif ambiguous:
            name = ambiguous.group(1)
            owners = [t.qualified_name for t in (sql_tables or self.index.tables) if t.column(name)]
            lines.append(
                _t(
                    lang,
                    f"**Ambiguous column (42702)**: `{name}` exists in more than one table of the query"
                    + (f" ({', '.join(owners[:5])})" if owners else "")
                    + "; prefix it with the table alias.",
                    f"**Coluna ambígua (42702)**: `{name}` existe em mais de uma tabela da consulta"
                    + (f" ({', '.join(owners[:5])})" if owners else "")
                    + "; use o alias da tabela antes dela.",
                )
            )
            tables += owners[:5]
        elif group:
            name = group.group(1) or group.group(2)
            lines.append(
                _t(
                    lang,
                    f"**Grouping error (42803)**: `{name}` is selected but neither grouped nor "
                    "aggregated. Add it "
                    "to GROUP BY or wrap it in an aggregate (max(), count(), string_agg()).",
                    f"**Erro de agrupamento (42803)**: `{name}` está no SELECT mas não no GROUP BY nem numa "
                    "agregação. Adicione ao GROUP BY ou use uma agregação (max(), count(), string_agg()).",
                )
            )
            grouped = _add_group_by(sql or "")
            if grouped:
                corrected.append(grouped)
        elif flag_bool := re.search(r"operator does not exist: (smallint|integer|bigint) = boolean", text):
            # a 0/1 flag compared with true/false: compare with 1/0 instead
            lines.append(
                _t(
                    lang,
                    f"**Type mismatch (42883)**: the column is a number ({flag_bool.group(1)}) used as a 0/1 flag, "
                    "not a boolean: compare it with 1 (true) or 0 (false).",
                    f"**Tipos incompatíveis (42883)**: a coluna é um número ({flag_bool.group(1)}) usado como flag "
                    "0/1, não um boolean: compare com 1 (verdadeiro) ou 0 (falso).",
                )
            )
            if sql:
                fixed = re.sub(r"(\w+)\s*=\s*true\b", r"\1 = 1", sql, flags=re.IGNORECASE)
                fixed = re.sub(r"(\w+)\s*=\s*false\b", r"\1 = 0", fixed, flags=re.IGNORECASE)
                if fixed != sql:
                    corrected.append(fixed)
        elif enum_bad:
            type_name, bad = enum_bad.group(1), enum_bad.group(2)
            labels = enum_values(self.index, type_name)
            lines.append(
                _t(
                    lang,
                    f"**Invalid enum value (22P02)**: `{bad}` is not a label of the enum type `{type_name}`.",
                    f"**Valor de enum inválido (22P02)**: `{bad}` não é um rótulo do tipo enum `{type_name}`.",
                )
            )
            if labels:
                lines.append(_t(lang, "Its labels: ", "Seus rótulos: ") + ", ".join(f"'{v}'" for v in labels))
                close = difflib.get_close_matches(bad, list(labels), n=1, cutoff=0.5)
                if sql and close:
                    fixed = re.sub(re.escape(_literal(bad)), _literal(close[0]), sql, flags=re.IGNORECASE)
                    if fixed != sql:
                        corrected.append(fixed)
        elif check_bad:
            relation, constraint = check_bad.group(1), check_bad.group(2)
            lines.append(
                _t(
                    lang,
                    f"**Check violation (23514)**: the new row breaks the CHECK constraint `{constraint}` of "
                    f"`{relation}`.",
                    f"**Violação de CHECK (23514)**: a nova linha viola a restrição CHECK `{constraint}` de "
                    f"`{relation}`.",
                )
            )
            for table in self.index.tables:
                if table.name.lower() != relation:
                    continue
                tables = tables or [table.qualified_name]
                for column, values in sorted(allowed_values(table).items()):
                    if column.lower() in constraint:
                        lines.append(
                            _t(lang, f"Allowed values of `{column}`: ", f"Valores permitidos de `{column}`: ")
                            + ", ".join(f"'{v}'" for v in values)
                        )
                break
        elif unpopulated:
            view = unpopulated.group(1)
            lines.append(
                _t(
                    lang,
                    f"**Materialized view not populated (55000)**: `{view}` was created WITH NO DATA (or never "
                    "refreshed), so it has no rows to read. A DBA (or its owner) runs "
                    f"`REFRESH MATERIALIZED VIEW {view};` once; then it can be queried.",
                    f"**Visão materializada não populada (55000)**: `{view}` foi criada WITH NO DATA (ou nunca "
                    "atualizada), então não tem linhas para ler. Um DBA (ou o dono) roda "
                    f"`REFRESH MATERIALIZED VIEW {view};` uma vez; depois ela pode ser consultada.",
                )
            )
        else:
            code = re.search(r"\b([0-9][0-9a-z][0-9a-z]{3})\b", text)
            meaning = _SQLSTATE_MEANINGS.get(code.group(1).upper()) if code else None
            if meaning is None:
                for key, value in _MESSAGE_MEANINGS:
                    if key in text:
                        meaning = value
                        break
            if meaning:
                lines.append(_t(lang, meaning[0], meaning[1]))
            else:
                lines.append(
                    _t(
                        lang,
                        "I do not recognise this error. Run the statement with EXPLAIN in the SQL "
                        "editor to see "
                        "PostgreSQL's position and hint, or switch the assistant to Gemini.",
                        "Não reconheço este erro. Rode o comando com EXPLAIN no editor SQL para ver a "
                        "posição e a "
                        "dica do PostgreSQL, ou use o assistente com Gemini.",
                    )
                )
        if sql_tables and not tables:
            tables = [t.qualified_name for t in sql_tables]
        if corrected:
            lines.append(_t(lang, "Corrected query:", "Consulta corrigida:"))
            lines.append(_fence(corrected[0]))
        return OfflineAnswer("\n".join(lines), tuple(corrected[:1]), tuple(dict.fromkeys(tables)), "error")


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------

_COMMON_RESERVED = frozenset(
    "user order group table select from where timestamp limit offset check column default desc end".split()  # noqa: SIM905
)

_SQLSTATE_MEANINGS: dict[str, tuple[str, str]] = {
    "42883": (
        "**Undefined function (42883)**: no function or operator with these argument types; add a cast "
        "(::text, ::int) or check the name.",
        "**Função inexistente (42883)**: não há função ou operador com esses tipos de argumento; use um "
        "cast (::text, ::int) ou confira o nome.",
    ),
    "42804": (
        "**Datatype mismatch (42804)**: an expression has a different type than expected; cast it.",
        "**Tipos incompatíveis (42804)**: uma expressão tem tipo diferente do esperado; faça um cast.",
    ),
    "22P02": (
        "**Invalid input syntax (22P02)**: a literal cannot be read as the column's type (e.g. 'abc' for a "
        "uuid or an integer); compare with values of the right type.",
        "**Sintaxe de entrada inválida (22P02)**: um literal não pode ser lido no tipo da coluna (ex.: "
        "'abc' para uuid ou inteiro); compare com valores do tipo certo.",
    ),
    "57014": (
        "**Statement timeout (57014)**: the query ran longer than the limit and was cancelled; narrow it "
        "with WHERE/LIMIT, or ask for an index (Suggest an index).",
        "**Tempo limite (57014)**: a consulta passou do limite e foi cancelada; restrinja com WHERE/LIMIT "
        "ou peça um índice (Sugerir índice).",
    ),
    "23505": (
        "**Unique violation (23505)**: a row with the same key already exists.",
        "**Violação de unicidade (23505)**: já existe uma linha com a mesma chave.",
    ),
    "23503": (
        "**Foreign key violation (23503)**: the referenced row does not exist (or is still referenced).",
        "**Violação de chave estrangeira (23503)**: a linha referenciada não existe (ou ainda é referenciada).",
    ),
    "25006": (
        "**Read-only transaction (25006)**: this SQL runs read-only; writes need a DBA.",
        "**Transação somente leitura (25006)**: este SQL roda somente leitura; escritas precisam de um DBA.",
    ),
}
_MESSAGE_MEANINGS: list[tuple[str, tuple[str, str]]] = [
    ("operator does not exist", _SQLSTATE_MEANINGS["42883"]),
    ("function", _SQLSTATE_MEANINGS["42883"]),
    ("invalid input syntax", _SQLSTATE_MEANINGS["22P02"]),
    ("statement timeout", _SQLSTATE_MEANINGS["57014"]),
    ("canceling statement", _SQLSTATE_MEANINGS["57014"]),
    ("duplicate key", _SQLSTATE_MEANINGS["23505"]),
    ("foreign key", _SQLSTATE_MEANINGS["23503"]),
    ("read-only transaction", _SQLSTATE_MEANINGS["25006"]),
]


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!])")


def _comment_md(text: str | None, limit: int) -> str:
    """A catalog comment shown in a Markdown answer: one line, in quotes, its Markdown escaped.

    Comments are written by whoever owns a table; shown as quoted text, a "[login again](http://...)" or an
    image link in a comment is not a link, and nothing in it reads as the answer's own words.
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _one_line(text, limit))
    return f"“{escaped}”" if escaped else ""


def _one_line(text: str | None, limit: int) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _human_bytes(size: int | None) -> str:
    if not size:
        return "0 B"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _fence(sql: str) -> str:
    return f"```sql\n{sql};\n```"


def _q(name: str) -> str:
    """A column name as SQL (quoted when needed)."""
    from dba_admin.assistant.schema_index import _ident

    return _ident(name)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _limit_in(folded: str, default: int) -> int:
    match = re.search(r"\b(?:top|last|latest|first|ultimos|ultimas|primeiros|primeiras|limit)\s+(\d{1,4})\b", folded)
    if match is None:
        match = re.search(r"\b(\d{1,4})\s+(?:latest|last|most recent|newest|ultimos|ultimas|mais recentes)\b", folded)
    return max(1, min(1000, int(match.group(1)))) if match else default


_LABEL_HINTS = (
    "name",
    "full_name",
    "nome",
    "title",
    "titulo",
    "email",
    "status",
    "phone_number",
    "body",
    "key",
)


def _display_columns(table: IndexedTable, limit: int = 8) -> list[str]:
    """The first columns (usually id, names, status) plus a time column; never more than ``limit``."""
    cols = table.column_names[:limit]
    time_col = time_column(table)
    if time_col and time_col not in cols:
        cols = [*cols[: limit - 1], time_col]
    return cols or ["*"]


def _value_filters(table: IndexedTable, question: str) -> list[tuple[str, str]]:
    """WHERE col = 'value' for words of the question that are allowed values of a CHECK (status...)."""
    q_terms = set(terms(question))
    q_concepts = {CONCEPTS[t] for t in q_terms if t in CONCEPTS}
    found: list[tuple[str, str]] = []
    for column, values in sorted(allowed_values(table).items()):
        exact = [v for v in values if set(terms(v)) and set(terms(v)) <= q_terms]
        if exact:
            found.append((column, exact[0]))
            continue
        by_concept = [v for v in values if any(CONCEPTS.get(t) in q_concepts for t in terms(v))]
        if len(by_concept) == 1 and column in ("status", "state", "situacao"):
            found.append((column, by_concept[0]))
    return found[:2]


def _group_column(table: IndexedTable, folded: str) -> str | None:
    match = _GROUP_WORDS.search(folded)
    if match is None:
        return None
    wanted = terms(match.group(1))
    if not wanted:
        return None
    w = wanted[0]
    concept = CONCEPTS.get(w)
    for col in table.columns:
        col_terms = terms(col.name)
        if w in col_terms or (concept and any(CONCEPTS.get(t) == concept for t in col_terms)):
            return col.name
    for fk in table.fks_out:  # "per customer" -> the column that references user_profiles
        ref_terms = terms(fk.ref_table.split(".")[-1])
        if w in ref_terms or (concept and any(CONCEPTS.get(t) == concept for t in ref_terms)):
            return fk.columns[0]
    return None


def _select_sql(table: IndexedTable, *, columns: list[str] | None = None, limit: int = 50) -> str:
    cols = columns or _display_columns(table)
    if columns and table.primary_key and table.primary_key[0] not in cols:
        cols = [table.primary_key[0], *cols]
    # Display text for the user to open in the editor (names quoted by _q); it is EXPLAINed, never executed.
    sql = f"SELECT {', '.join(map(_q, cols))} FROM {qualified_ident(table.qualified_name)}"  # noqa: S608  # nosec B608
    if table.primary_key:
        sql += " ORDER BY " + ", ".join(map(_q, table.primary_key))
    return sql + f" LIMIT {limit}"


def _alias_for(name: str, used: set[str]) -> str:
    parts = [p for p in name.split("_") if p]
    base = "".join(p[0] for p in parts) or "t"
    if not re.fullmatch(r"[a-z][a-z0-9]*", base):
        base = "t"
    alias = base
    n = 2
    while alias in used or alias in _COMMON_RESERVED or alias in {"as", "on", "or", "do", "to", "in", "is", "by"}:
        alias = f"{base}{n}"
        n += 1
    used.add(alias)
    return alias


def join_sql(index: SchemaIndex, path: JoinPath, *, limit: int = 100) -> str:
    """SELECT ... FROM first JOIN ... ON the foreign-key columns ... for a join path."""
    used: set[str] = set()
    aliases = {name: _alias_for(name.split(".")[-1], used) for name in path.tables}
    first, last = path.tables[0], path.tables[-1]
    select_cols: list[str] = []
    for name in dict.fromkeys((first, last)):
        table = index.by_name[name]
        label = next((c for c in _LABEL_HINTS if table.column(c)), None)
        cols = [c for c in (table.primary_key[0] if table.primary_key else None, label) if c]
        bare = name.split(".")[-1]
        select_cols += [f"{aliases[name]}.{_q(c)} AS {_q(bare + '_' + c)}" for c in dict.fromkeys(cols)]
    if not select_cols:
        select_cols = [f"{aliases[first]}.*"]
    lines = [f"SELECT {', '.join(select_cols)}", *_from_lines(path, aliases), f"LIMIT {limit}"]
    return "\n".join(lines)


_SQL_START = re.compile(r"\b(SELECT|WITH|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_SQL_END = re.compile(r"\s*(?:--|\n\s*(?:ERROR|ERRO|FATAL)\b|\b(?:ERROR|ERRO):)", re.IGNORECASE)


def _sql_in_text(text: str) -> str | None:
    """The statement quoted in a "why does this fail: SELECT ... -- ERROR: ..." question, if any."""
    m = _SQL_START.search(text)
    if m is None:
        return None
    end = _SQL_END.search(text, m.start())
    stmt = text[m.start() : end.start() if end else len(text)].strip().rstrip(";").strip()
    return stmt or None


def _replace_identifier(sql: str, old: str, new: str) -> str:
    """``old`` replaced by ``new`` where it stands as an identifier (not inside quotes)."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    pattern = re.compile(r'(?<![\w$."])"?' + re.escape(old) + r'"?(?![\w$"])', re.IGNORECASE)
    return "".join(part if i % 2 else pattern.sub(_q(new), part) for i, part in enumerate(parts))


_AGG_CALL = re.compile(
    r"\b(count|sum|avg|min|max|string_agg|array_agg|bool_and|bool_or|every|json_agg|jsonb_agg|stddev|variance)\s*\(",
    re.IGNORECASE,
)


def _split_top(text: str) -> list[str]:
    """Comma-separated items at parenthesis depth 0."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return [x for x in out if x]


def _add_group_by(sql: str) -> str | None:
    """A grouping error corrected: every selected expression that is not an aggregate goes to GROUP BY."""
    m = re.match(r"\s*SELECT\s+(?:DISTINCT\s+)?(.*?)\s+FROM\s+", sql, re.IGNORECASE | re.DOTALL)
    if m is None:
        return None
    plain = []
    for item in _split_top(m.group(1)):
        if _AGG_CALL.search(item) or item == "*":
            continue
        expr = re.sub(r"\s+(?:AS\s+)?\"?[\w$]+\"?\s*$", "", item, flags=re.IGNORECASE) if " " in item else item
        plain.append(expr.strip())
    if not plain:
        return None
    tail = re.search(r"\b(GROUP\s+BY|HAVING|ORDER\s+BY|LIMIT|OFFSET|FETCH|WINDOW)\b", sql, re.IGNORECASE)
    group = re.search(r"\bGROUP\s+BY\s+", sql, re.IGNORECASE)
    if group is not None:
        end = re.search(r"\b(HAVING|ORDER\s+BY|LIMIT|OFFSET|FETCH|WINDOW)\b", sql[group.end() :], re.IGNORECASE)
        stop = group.end() + (end.start() if end else len(sql) - group.end())
        have = {x.lower() for x in _split_top(sql[group.end() : stop])}
        missing = [x for x in plain if x.lower() not in have]
        if not missing:
            return None
        return sql[:stop].rstrip() + ", " + ", ".join(missing) + (" " + sql[stop:].lstrip() if sql[stop:] else "")
    pos = tail.start() if tail else len(sql)
    head = sql[:pos].rstrip()
    rest = sql[pos:]
    return f"{head} GROUP BY {', '.join(plain)}" + (f" {rest}" if rest else "")


def _closest_columns(index: SchemaIndex, name: str, scope: Iterable[IndexedTable]) -> list[str]:
    """Real columns closest to a wrong one: spelling first (difflib), then meaning (synonyms)."""
    candidates: dict[str, str] = {}
    for table in scope:
        for col in table.column_names:
            candidates.setdefault(col.lower(), col)
            candidates.setdefault(f"{table.name}.{col}".lower(), f"{table.name}.{col}")
    owners: dict[str, list[str]] = {}
    for table in scope:
        for col in table.column_names:
            owners.setdefault(col, []).append(table.name)
    close = difflib.get_close_matches(name.lower(), [c for c in candidates if "." not in c], n=4, cutoff=0.55)
    out = [f"{owners[candidates[c]][0]}.{candidates[c]}" for c in close]
    # Synonyms: "telefone" -> phone_number, "cliente_id" -> user_id.
    wanted = {CONCEPTS.get(t, t) for t in terms(name)} - {"id"}
    if wanted:
        for table in scope:
            for col in table.column_names:
                col_concepts = {CONCEPTS.get(t, t) for t in terms(col)}
                ref = f"{table.name}.{col}"
                if wanted <= col_concepts and ref not in out:
                    out.append(ref)
    return out[:5]


def _closest_tables(index: SchemaIndex, name: str) -> list[str]:
    bare = name.split(".")[-1].lower()
    by_bare: dict[str, str] = {}
    for table in index.tables:
        by_bare.setdefault(table.name.lower(), table.qualified_name)
    out = [by_bare[c] for c in difflib.get_close_matches(bare, list(by_bare), n=3, cutoff=0.5)]
    for match in index.search(bare.replace("_", " "), limit=3, neighbours=False):
        if match.table.qualified_name not in out:
            out.append(match.table.qualified_name)
    return out[:4]


def tables_in_sql(index: SchemaIndex, sql: str | None) -> list[IndexedTable]:
    """Tables of the index that a SQL text names (by word tokens and dotted pairs), in order."""
    if not sql:
        return []
    try:
        tokens = [t for t in tokenize(sql) if t.kind not in ("ws", "comment")]
    except Exception:
        return []
    found: list[IndexedTable] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind in ("word", "qident"):
            name = tok.value.strip('"') if tok.kind == "qident" else tok.value.lower()
            if i + 2 < len(tokens) and tokens[i + 1].value == "." and tokens[i + 2].kind in ("word", "qident"):
                nxt = tokens[i + 2]
                other = nxt.value.strip('"') if nxt.kind == "qident" else nxt.value.lower()
                table = index.by_name.get(f"{name}.{other}")
                if table is not None:
                    if table not in found:
                        found.append(table)
                    i += 3
                    continue
            table = index.get(name) if "." not in name else None
            if table is not None and table not in found:
                found.append(table)
        i += 1
    return found


# --------------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------------


def _walk(plan: dict[str, Any], depth: int = 0) -> Iterable[tuple[int, dict[str, Any]]]:
    yield depth, plan
    for child in plan.get("Plans", []) or []:
        yield from _walk(child, depth + 1)


def describe_plan(plan: dict[str, Any], lang: str = "en") -> list[str]:
    """One line per plan node: what PostgreSQL will do, on which table, how many rows it expects."""
    root = plan.get("Plan", plan)
    lines = []
    for depth, node in _walk(root):
        what = node.get("Node Type", "?")
        rel = node.get("Relation Name")
        target = f" {_t(lang, 'on', 'em')} {node.get('Schema', 'public')}.{rel}" if rel else ""
        index = f" {_t(lang, 'using', 'usando')} {node['Index Name']}" if node.get("Index Name") else ""
        cond = node.get("Filter") or node.get("Index Cond") or node.get("Hash Cond") or node.get("Join Filter")
        detail = f" [{_one_line(str(cond), 120)}]" if cond else ""
        rows = node.get("Plan Rows")
        cost = node.get("Total Cost")
        lines.append(f"{'  ' * depth}- {what}{target}{index}{detail} (~{rows} rows, cost {cost})")
    return lines


@dataclass(frozen=True)
class IndexSuggestion:
    """An index worth proposing: the assistant's advice and the index advisor's candidates (proven with hypopg)."""

    table: str  # qualified
    columns: tuple[str, ...]
    reason: str
    partitioned: bool = False  # CREATE INDEX CONCURRENTLY is refused on a partitioned table

    @property
    def definition(self) -> str:
        """The CREATE INDEX hypopg takes (no name, no CONCURRENTLY)."""
        return f"CREATE INDEX ON {qualified_ident(self.table)} ({', '.join(map(_q, self.columns))})"

    @property
    def sql(self) -> str:
        """What the DBA runs: CONCURRENTLY where it can, so writes go on while it builds."""
        name = self.table.partition(".")[2] or self.table
        index_name = f"{name}_{'_'.join(self.columns)}_idx"[:63]
        concurrently = "" if self.partitioned else "CONCURRENTLY "
        return (
            f"CREATE INDEX {concurrently}{_q(index_name)} ON {qualified_ident(self.table)} "
            f"({', '.join(map(_q, self.columns))})"
        )


_COND_COLUMN = re.compile(r"\(?\(?([a-z_][a-z0-9_]*|\"[^\"]+\")\)?(?:::[a-z ]+)?\s*(=|<|>|<=|>=|~~\*?|IS)\s", re.I)


def suggest_indexes_from_plan(
    index: SchemaIndex, plan: dict[str, Any], *, min_rows: int = 1000
) -> list[IndexSuggestion]:
    """Sequential scans with a filter (or a join key) on big tables, whose columns no index leads with.

    A scan of a partition proposes the index on its partitioned root table: CREATE INDEX on the root builds
    it on every partition (and on partitions attached later), so one statement serves the whole Append; the
    partition's own rows and indexes decide whether it is needed, the root's total rows whether it is big.
    """
    root = plan.get("Plan", plan)
    out: list[IndexSuggestion] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for _depth, node in _walk(root):
        if node.get("Node Type") != "Seq Scan" or not node.get("Relation Name"):
            continue
        rel = str(node["Relation Name"])
        # Plain EXPLAIN names no schema: then the relation is found by its bare name.
        qn = f"{node['Schema']}.{rel}" if node.get("Schema") else rel
        partition = None if index.get(qn) is not None else index.partition(qn)
        table = index.get(qn) if partition is None else index.owner_of(partition.qualified_name)
        if table is None:
            continue
        rows = max(table.estimated_rows or 0, (partition.estimated_rows or 0) if partition else 0)
        if rows < min_rows and (node.get("Plan Rows") or 0) < min_rows:
            continue
        cond = str(node.get("Filter") or "")
        cols = [m.group(1).strip('"') for m in _COND_COLUMN.finditer(cond)]
        cols = [c for c in dict.fromkeys(cols) if table.column(c)]
        if not cols:
            continue
        existing = [*table.indexes, *(partition.indexes if partition else ())]
        if any(ix_cols[: len(cols)] == tuple(cols) for _n, _u, ix_cols in existing):
            continue
        key = (table.qualified_name, tuple(cols[:3]))
        if key in seen:  # the same filter on several partitions of one Append: one index on the root
            continue
        seen.add(key)
        if "~~" in cond:
            reason = "ILIKE/LIKE '%…%' cannot use a b-tree index; a pg_trgm GIN index would serve it"
        else:
            reason = f"sequential scan of ~{rows} rows filtered on {', '.join(cols)}"
        if partition is not None:
            reason += (
                f"; the scan reads partition {partition.qualified_name}: the index goes on its partitioned table "
                f"{table.qualified_name}, which builds it on every partition (CONCURRENTLY is not supported on a "
                "partitioned table: to avoid blocking writes, create it ON ONLY the parent, then CONCURRENTLY on "
                "each partition, and ALTER INDEX ... ATTACH PARTITION each one)"
            )
        out.append(
            IndexSuggestion(
                table.qualified_name, tuple(cols[:3]), reason, partitioned=table.kind == "partitioned_table"
            )
        )
    return out
