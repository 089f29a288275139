"""A made-up month of team activity for the embedded demo, so a fresh machine's Usage, My history and Projects pages
show something real-looking instead of empty states.

Three demo people (an analyst, a DBA, a viewer of the PetCare team) get two projects, five saved scripts with their
versions, about 30 days of finished runs on connection `demo` (a few to a dozen per working day, a long tail of
durations, some errors with real SQLSTATEs, a daily scheduled report) and a handful of assistant questions. Everything
is written once, on the owner connection (the trusted side that writes runs anyway), in one transaction, and only on a
workspace without any run yet: an existing team's history never gets made-up rows mixed in.

The demo people are DEACTIVATED accounts with the bcrypt hash of a random secret that is thrown away: they exist only
as the authors of this history, and nobody can log in as them. Their runs carry app_instance = 'demo-history' so they
can be told apart (and deleted) later. Nothing goes to the audit log: it records only what really happened, so the
Usage page's logins are the real ones.

Deterministic: a fixed seed, and every time relative to ``now``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dba_admin.auth import hash_password
from dba_admin.connections import DEMO_CONNECTION

SETTING_KEY = "demo_history"  # in dba_admin.settings once seeded (or skipped): the history is made at most once
APP_INSTANCE = "demo-history"  # marks the made-up runs
_LOCK_KEY = 0x0DBA_DE02  # pg_advisory_xact_lock: two app servers starting together seed once
_SEED = 16
DAYS = 30
_LOCAL = dt.timezone(dt.timedelta(hours=-3))  # the PetCare team works in Brazil (no daylight saving since 2019)
_MODEL = "gemini-2.5-flash"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    role: str
    weight: int  # how much of the team's SQL this person runs

    @property
    def email(self) -> str:
        return f"{self.username}@petcare.example"


PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("ana.souza", "Ana Souza", "analyst", 55),
    DemoPerson("bruno.lima", "Bruno Lima", "dba", 33),
    DemoPerson("carla.dias", "Carla Dias", "viewer", 12),
)


@dataclass(frozen=True)
class DemoScript:
    key: str
    name: str
    versions: tuple[tuple[int, str, str], ...]  # (days before now it was saved, message, SQL)
    rows: tuple[int, int]  # the rows a run returns, low and high
    ms: float  # the median duration of a run
    author: str  # username of the author of version 1


@dataclass(frozen=True)
class DemoProject:
    name: str
    description: str
    owner: str
    members: tuple[str, ...]
    created_days_ago: int
    scripts: tuple[DemoScript, ...]


PROJECTS: tuple[DemoProject, ...] = (
    DemoProject(
        "Atendimento WhatsApp",
        "Conversas, tempo de resposta e custo da IA no atendimento pelo WhatsApp.",
        "ana.souza",
        ("bruno.lima", "carla.dias"),
        34,
        (
            DemoScript(
                "conversas",
                "Conversas por canal e dia",
                (
                    (
                        33,
                        "primeira versão",
                        "select date_trunc('day', started_at)::date as dia, channel, count(*) as conversas\n"
                        "from conversations\nwhere started_at >= now() - interval '30 days'\n"
                        "group by 1, 2\norder by 1, 2;",
                    ),
                    (
                        19,
                        "separa IA e equipe",
                        "select date_trunc('day', started_at)::date as dia, channel, handled_by,"
                        " count(*) as conversas\nfrom conversations\nwhere started_at >= now() - interval '30 days'\n"
                        "group by 1, 2, 3\norder by 1, 2, 3;",
                    ),
                ),
                (60, 180),
                45,
                "ana.souza",
            ),
            DemoScript(
                "resposta",
                "Tempo até a primeira resposta",
                (
                    (
                        31,
                        "primeira versão",
                        "select c.id, min(m.\"timestamp\") filter (where m.direction = 'out') - c.started_at"
                        " as primeira_resposta\nfrom conversations c\njoin messages m on m.conversation_id = c.id\n"
                        "where c.started_at >= now() - interval '7 days'\ngroup by c.id, c.started_at\n"
                        "order by primeira_resposta desc nulls first\nlimit 100;",
                    ),
                    (
                        12,
                        "p50 e p95 por atendente",
                        "with primeira as (\n  select c.id, c.handled_by,\n"
                        "         min(m.\"timestamp\") filter (where m.direction = 'out') - c.started_at as espera\n"
                        "  from conversations c\n  join messages m on m.conversation_id = c.id\n"
                        "  where c.started_at >= now() - interval '7 days'\n"
                        "  group by c.id, c.handled_by, c.started_at\n"
                        ")\nselect handled_by,\n"
                        "       percentile_cont(0.5) within group (order by extract(epoch from espera)) as p50_s,\n"
                        "       percentile_cont(0.95) within group (order by extract(epoch from espera)) as p95_s\n"
                        "from primeira\nwhere espera is not null\ngroup by handled_by;",
                    ),
                ),
                (2, 100),
                420,
                "ana.souza",
            ),
            DemoScript(
                "tokens",
                "Tokens da IA por dia",
                (
                    (
                        22,
                        "custo da IA",
                        "select date_trunc('day', \"timestamp\")::date as dia, sum(tokens_used) as tokens,"
                        " count(*) as mensagens\nfrom messages\n"
                        "where sender_type = 'ai' and \"timestamp\" >= now() - interval '30 days'\n"
                        "group by 1\norder by 1;",
                    ),
                ),
                (28, 31),
                260,
                "bruno.lima",
            ),
        ),
    ),
    DemoProject(
        "Agenda e vendas",
        "Faltas na agenda da clínica e faturamento da loja.",
        "bruno.lima",
        ("ana.souza",),
        29,
        (
            DemoScript(
                "noshow",
                "Faltas por serviço",
                (
                    (
                        28,
                        "primeira versão",
                        "select s.name, count(*) filter (where a.status = 'no_show') as faltas, count(*) as total\n"
                        "from appointments a\njoin services s on s.id = a.service_id\n"
                        "group by s.name\norder by faltas desc;",
                    ),
                    (
                        21,
                        "só os últimos 90 dias",
                        "select s.name, count(*) filter (where a.status = 'no_show') as faltas, count(*) as total\n"
                        "from appointments a\njoin services s on s.id = a.service_id\n"
                        "where a.appointment_date >= now() - interval '90 days'\n"
                        "group by s.name\norder by faltas desc;",
                    ),
                    (
                        6,
                        "taxa de faltas",
                        "select s.name as servico,\n"
                        "       count(*) filter (where a.status = 'no_show') as faltas,\n"
                        "       count(*) as agendamentos,\n"
                        "       round(100.0 * count(*) filter (where a.status = 'no_show') / nullif(count(*), 0), 1)"
                        " as taxa_pct\nfrom appointments a\njoin services s on s.id = a.service_id\n"
                        "where a.appointment_date >= now() - interval '90 days'\n"
                        "group by s.name\norder by taxa_pct desc nulls last;",
                    ),
                ),
                (10, 24),
                85,
                "bruno.lima",
            ),
            DemoScript(
                "faturamento",
                "Faturamento por forma de pagamento",
                (
                    (
                        27,
                        "primeira versão",
                        "select method, count(*) as pagamentos, sum(amount) as total\nfrom payments\n"
                        "where status = 'paid'\ngroup by method;",
                    ),
                    (
                        16,
                        "por semana",
                        "select date_trunc('week', paid_at)::date as semana, method, count(*) as pagamentos,"
                        " sum(amount) as total\nfrom payments\n"
                        "where status = 'paid' and paid_at >= now() - interval '12 weeks'\n"
                        "group by 1, 2\norder by 1, 2;",
                    ),
                ),
                (3, 36),
                140,
                "bruno.lima",
            ),
        ),
    ),
)
SCHEDULED_SCRIPT = "faturamento"  # run by a schedule every morning as its owner (no schedule is created: see below)

# Ad-hoc SQL: (text, rows low, rows high, median ms)
ADHOC: tuple[tuple[str, int, int, float], ...] = (
    ("select count(*) from user_profiles where is_active;", 1, 1, 12),
    ("select * from pets where species = 'dog' and weight_kg > 30 limit 50;", 50, 50, 9),
    (
        "select p.name, p.species, t.city\nfrom pets p\njoin tutors t on t.id = p.tutor_id\n"
        "where t.city = 'São Paulo'\nlimit 100;",
        100,
        100,
        30,
    ),
    (
        "select status, count(*)\nfrom appointments\nwhere appointment_date::date = current_date\ngroup by status;",
        2,
        5,
        70,
    ),
    (
        "select name, stock_quantity\nfrom products\nwhere active and stock_quantity < 5\norder by stock_quantity;",
        0,
        18,
        8,
    ),
    (
        "select id, total_amount, status\nfrom orders\nwhere created_at >= now() - interval '1 day'\n"
        "order by created_at desc;",
        12,
        80,
        25,
    ),
    (
        "select c.name, count(*) filter (where r.status = 'replied') as respostas, count(*) as enviados\n"
        "from campaigns c\njoin campaign_recipients r on r.campaign_id = c.id\ngroup by c.name;",
        6,
        14,
        110,
    ),
    ("select key, count(*)\nfrom ai_memory\ngroup by key\norder by 2 desc\nlimit 20;", 20, 20, 55),
    (
        "select *\nfrom appointment_reminders\nwhere status = 'failed' and remind_at >= now() - interval '7 days';",
        0,
        40,
        60,
    ),
    (
        "select m.conversation_id, m.body\nfrom messages m\nwhere m.body ilike '%vacina%'\n"
        'order by m."timestamp" desc\nlimit 200;',
        200,
        200,
        1800,
    ),
)

# Failed runs: (status, SQLSTATE, message, SQL) as PostgreSQL reports them.
FAILURES: tuple[tuple[str, str, str, str], ...] = (
    ("error", "42P01", 'relation "pet" does not exist', "select * from pet where name = 'Thor';"),
    ("error", "42703", 'column "phone" does not exist', "select full_name, phone from user_profiles limit 20;"),
    ("error", "42601", 'syntax error at or near "form"', "select name, price form services;"),
    (
        "error",
        "42883",
        "operator does not exist: bigint = uuid",
        "select *\nfrom orders o\njoin tutors t on t.id = o.user_id\nlimit 10;",
    ),
    (
        "error",
        "42803",
        'column "s.name" must appear in the GROUP BY clause or be used in an aggregate function',
        "select s.name, a.status, count(*)\nfrom appointments a\njoin services s on s.id = a.service_id\n"
        "group by a.status;",
    ),
    (
        "error",
        "25006",
        "cannot execute UPDATE in a read-only transaction",
        "update appointments set status = 'done' where id = 1832;",
    ),
    ("error", "22012", "division by zero", "select name, price / (duration_minutes - 30) from services;"),
    (
        "timeout",
        "57014",
        "canceling statement due to statement timeout",
        "select u.full_name, count(*)\nfrom messages m\njoin conversations c on c.id = m.conversation_id\n"
        "join user_profiles u on u.id = c.user_id\nwhere m.body ilike '%banho%'\ngroup by u.full_name\n"
        "order by 2 desc;",
    ),
)
_ERROR_RATE = 0.065
_CANCELLED = ("57014", "canceling statement due to user request")

# Assistant questions: (username, days ago, question, tables, suggested SQL or None)
QUESTIONS: tuple[tuple[str, int, str, tuple[str, ...], str | None], ...] = (
    (
        "carla.dias",
        26,
        "Qual tabela guarda os lembretes de consulta?",
        ("appointment_reminders", "appointments"),
        None,
    ),
    (
        "ana.souza",
        24,
        "Como ligo os pagamentos aos tutores?",
        ("payments", "orders", "user_profiles", "tutors"),
        "select t.id as tutor_id, sum(p.amount) as pago\nfrom payments p\njoin orders o on o.id = p.order_id\n"
        "join tutors t on t.user_id = o.user_id\nwhere p.status = 'paid'\ngroup by t.id;",
    ),
    (
        "carla.dias",
        17,
        "Quantos pets ativos temos por espécie?",
        ("pets",),
        "select species, count(*) from pets where is_active group by species order by 2 desc;",
    ),
    (
        "bruno.lima",
        15,
        "Por que a busca em messages.body é lenta?",
        ("messages",),
        None,
    ),
    (
        "ana.souza",
        9,
        "Quais campanhas tiveram mais respostas no último mês?",
        ("campaigns", "campaign_recipients"),
        "select c.name, count(*) filter (where r.status = 'replied') as respostas\nfrom campaigns c\n"
        "join campaign_recipients r on r.campaign_id = c.id\nwhere c.scheduled_at >= now() - interval '30 days'\n"
        "group by c.name\norder by respostas desc;",
    ),
    (
        "carla.dias",
        4,
        "Onde fica o peso do animal?",
        ("pets",),
        None,
    ),
    (
        "ana.souza",
        2,
        "Como calculo a taxa de faltas por dia da semana?",
        ("appointments",),
        "select extract(isodow from appointment_date) as dia_semana,\n"
        "       round(100.0 * count(*) filter (where status = 'no_show') / count(*), 1) as taxa_pct\n"
        "from appointments\ngroup by 1\norder by 1;",
    ),
)


@dataclass(frozen=True)
class SeedReport:
    """What one call did: ``seeded`` False when the history was there already (or skipped) and nothing changed."""

    seeded: bool
    runs: int = 0
    questions: int = 0
    reason: str | None = None


def _local_day_start(now: dt.datetime, days_ago: int) -> dt.datetime:
    local = now.astimezone(_LOCAL)
    day = local.date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time.min, tzinfo=_LOCAL)


def _duration(rng: random.Random, median_ms: float) -> float:
    """A log-normal duration around the median: most runs near it, a long tail of slow ones."""
    return round(min(median_ms * math.exp(rng.gauss(0, 0.9)), 29_000.0), 3)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def seed_demo_history(conn: psycopg.Connection[Any], *, now: dt.datetime) -> SeedReport:
    """Write the demo history once on the workspace OWNER connection (autocommit); a no-op every later time.

    The advisory lock and the settings key make it safe for several app servers starting together. A workspace
    that already has runs, or a user with a demo person's name or email, is left alone (and remembered as skipped).
    """
    if now.tzinfo is None:
        raise ValueError("seed_demo_history needs a time-zone-aware now")
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s) /* dba_admin */", (_LOCK_KEY,))
        if conn.execute("select 1 from dba_admin.settings where key = %s /* dba_admin */", (SETTING_KEY,)).fetchone():
            return SeedReport(seeded=False, reason="already seeded")
        reason = None
        if conn.execute("select 1 from public.execucoes_scripts limit 1 /* dba_admin */").fetchone():
            reason = "the workspace already has runs"
        elif conn.execute(
            "select 1 from dba_admin.users where username = any(%s) or email = any(%s) /* dba_admin */",
            ([p.username for p in PEOPLE], [p.email for p in PEOPLE]),
        ).fetchone():
            reason = "a demo person's username or email is taken"
        if reason is not None:
            _remember(conn, now, {"skipped": reason})
            return SeedReport(seeded=False, reason=reason)
        report = _seed(conn, now)
        _remember(conn, now, {"seeded_at": now.isoformat(), "runs": report.runs, "questions": report.questions})
        return report


def _remember(conn: psycopg.Connection[Any], now: dt.datetime, value: dict[str, Any]) -> None:
    conn.execute(
        "insert into dba_admin.settings (key, value, updated_by, updated_at) values (%s, %s, 'system', %s)"
        " /* dba_admin */",
        (SETTING_KEY, Jsonb(value), now),
    )


def _seed(conn: psycopg.Connection[Any], now: dt.datetime) -> SeedReport:
    # Made-up data, deterministic on purpose (a fixed seed); the password secrets come from `secrets`.
    rng = random.Random(_SEED)  # noqa: S311  # nosec B311
    ids: dict[str, uuid.UUID] = {}
    for person in PEOPLE:
        # Deactivated, with the hash of a random secret nobody keeps: the demo people are authors of the made-up
        # history only; no one can log in as them (an admin could reset a password and activate one, as for anyone).
        row = conn.execute(
            "insert into dba_admin.users (username, email, name, role, password_hash, is_active, created_at,"
            " updated_at) values (%s, %s, %s, %s, %s, false, %s, %s) returning id /* dba_admin */",
            (
                person.username,
                person.email,
                person.name,
                person.role,
                hash_password(secrets.token_urlsafe(32)),
                now - dt.timedelta(days=DAYS + 6),
                now - dt.timedelta(days=1),
            ),
        ).fetchone()
        assert row is not None
        ids[person.username] = row[0]

    # Projects and scripts; versions as the rules want them: a script starts at version 1 with its version row, and
    # each later version updates the text and the number to current+1 together with its own row (all insert-only).
    timeline: dict[str, list[tuple[dt.datetime, int, str]]] = {}  # script key -> (saved at, version, SQL)
    script_ids: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}  # script key -> (script id, project id)
    members_of: dict[uuid.UUID, set[str]] = {}
    for project in PROJECTS:
        created = _local_day_start(now, project.created_days_ago) + dt.timedelta(hours=10, minutes=rng.randint(0, 59))
        row = conn.execute(
            "insert into public.projetos_analytics (nome, descricao, created_by, membros, created_at, updated_at)"
            " values (%s, %s, %s, %s, %s, %s) returning id /* dba_admin */",
            (
                project.name,
                project.description,
                f"{project.owner}@petcare.example",
                [f"{m}@petcare.example" for m in project.members],
                created,
                created,
            ),
        ).fetchone()
        assert row is not None
        project_id = row[0]
        members_of[project_id] = {project.owner, *project.members}
        for script in project.scripts:
            author = f"{script.author}@petcare.example"
            saved = []
            for days_ago, _message, text in script.versions:
                at = _local_day_start(now, days_ago) + dt.timedelta(
                    hours=rng.randint(9, 17), minutes=rng.randint(0, 59)
                )
                saved.append((max(at, created), text))
            first_at, first_sql = saved[0]
            row = conn.execute(
                "insert into public.scripts_projetos (projeto_id, nome, sql, versao_atual, created_by, updated_by,"
                " created_at, updated_at) values (%s, %s, %s, 1, %s, %s, %s, %s) returning id /* dba_admin */",
                (project_id, script.name, first_sql, author, author, first_at, first_at),
            ).fetchone()
            assert row is not None
            script_id = row[0]
            script_ids[script.key] = (script_id, project_id)
            timeline[script.key] = []
            for number, ((at, text), (_days, message, _sql)) in enumerate(zip(saved, script.versions, strict=True), 1):
                # later versions by whoever of the project edited it; the first by the author
                editor = author if number == 1 else f"{rng.choice(sorted(members_of[project_id]))}@petcare.example"
                if number > 1:
                    conn.execute(
                        "update public.scripts_projetos set sql = %s, versao_atual = %s, updated_by = %s"
                        " where id = %s /* dba_admin */",
                        (text, number, editor, script_id),
                    )
                conn.execute(
                    "insert into public.scripts_projetos_versoes (script_id, versao, sql, mensagem, autor, created_at)"
                    " values (%s, %s, %s, %s, %s, %s) /* dba_admin */",
                    (script_id, number, text, message, editor, at),
                )
                timeline[script.key].append((at, number, text))

    scripts = {s.key: s for p in PROJECTS for s in p.scripts}
    weights = [p.weight for p in PEOPLE]
    runs: list[tuple[Any, ...]] = []

    def add_run(person: DemoPerson, started: dt.datetime, origin: str, script_key: str | None) -> None:
        script_id = project_id = version = None
        if script_key is not None:
            script = scripts[script_key]
            script_id, project_id = script_ids[script_key]
            version, text = next((n, t) for at, n, t in reversed(timeline[script_key]) if at <= started)
            low, high, median = script.rows[0], script.rows[1], script.ms
        else:
            text, low, high, median = rng.choice(ADHOC)
        status, sqlstate, error, rows = "success", None, None, rng.randint(low, high)
        duration = _duration(rng, median)
        roll = rng.random()
        if origin == "interactive" and roll < _ERROR_RATE:
            status, sqlstate, error, failing_sql = rng.choice(FAILURES)
            if script_key is None:
                text = failing_sql
            rows = 0
            duration = 30_000.0 if status == "timeout" else round(rng.uniform(1.5, 40.0), 3)
        elif origin == "interactive" and roll < _ERROR_RATE + 0.01:
            status, (sqlstate, error), rows = "cancelled", _CANCELLED, 0
            duration = round(rng.uniform(2_000, 12_000), 3)
        finished = started + dt.timedelta(milliseconds=duration)
        runs.append(
            (
                script_id,
                project_id,
                version,
                text,
                person.email,
                ids[person.username],
                status,
                rows,
                duration,
                error,
                sqlstate,
                started,
                finished,
                DEMO_CONNECTION,
                APP_INSTANCE,
                origin,
            )
        )

    for days_ago in range(DAYS, -1, -1):
        day = _local_day_start(now, days_ago)
        # the daily report, every morning (weekends too) as the schedule's owner
        report_at = day + dt.timedelta(hours=6, minutes=30, seconds=rng.randint(0, 20))
        if report_at < now and timeline[SCHEDULED_SCRIPT][0][0] <= report_at:
            add_run(PEOPLE[1], report_at, "scheduled", SCHEDULED_SCRIPT)
        if day.weekday() >= 5:
            continue
        for _ in range(rng.randint(3, 12)):
            started = day + dt.timedelta(seconds=rng.randint(8 * 3600 + 30 * 60, 18 * 3600 + 30 * 60))
            if started >= now:
                continue
            person = rng.choices(PEOPLE, weights=weights)[0]
            usable = [
                key
                for key, (_sid, pid) in script_ids.items()
                if person.username in members_of[pid] and timeline[key][0][0] <= started
            ]
            # viewers run saved scripts; the others mostly their own ad-hoc SQL
            share = 0.9 if person.role == "viewer" else 0.45
            key = rng.choice(usable) if usable and rng.random() < share else None
            add_run(person, started, "interactive", key)

    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.execucoes_scripts (script_id, projeto_id, versao, sql_executado, executado_por,"
            " user_id, status, linhas, duracao_ms, erro, sqlstate, started_at, finished_at, banco, app_instance,"
            " origem) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) /* dba_admin */",
            runs,
        )

    by_name = {p.username: p for p in PEOPLE}
    asked = 0
    for username, days_ago, question, tables, suggested in QUESTIONS:
        person = by_name[username]
        at = _local_day_start(now, days_ago) + dt.timedelta(hours=rng.randint(9, 17), minutes=rng.randint(0, 59))
        if at >= now:
            continue
        answer = (
            f"A tabela {tables[0]} responde a isso; veja a consulta sugerida."
            if suggested
            else f"Veja a tabela {tables[0]}: {', '.join(tables)}."
        )
        conn.execute(
            "insert into public.duvidas_analitics_ia (conversa_id, user_id, user_email, pergunta, resposta, modelo,"
            " tabelas_contexto, sql_sugerido, sql_valido, tokens_entrada, tokens_saida, conexao, created_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) /* dba_admin */",
            (
                _uuid(rng),
                ids[username],
                person.email,
                question,
                answer,
                _MODEL,
                list(tables),
                suggested,
                True if suggested else None,
                rng.randint(900, 2600),
                rng.randint(120, 600),
                DEMO_CONNECTION,
                at,
            ),
        )
        asked += 1
    return SeedReport(seeded=True, runs=len(runs), questions=asked)
