"""Check headers cite only splinter lints that exist, by number; docs/ADVISORS.md matches the headers.

The first round cited ``invalid_index``, ``autovacuum_disabled`` and ``unused_replication_slot`` as splinter lints;
splinter has none of them, so a DBA who looked them up found nothing. The list below is splinter's ``lints/``
directory at commit 55db5b1 (0012 is a Supabase Auth setting, not a database lint, and has no SQL file there).
"""

from __future__ import annotations

import re

from dba_admin.advisors import load_checks

SPLINTER_LINTS: dict[str, str] = {
    "0001": "unindexed_foreign_keys",
    "0002": "auth_users_exposed",
    "0003": "auth_rls_initplan",
    "0004": "no_primary_key",
    "0005": "unused_index",
    "0006": "multiple_permissive_policies",
    "0007": "policy_exists_rls_disabled",
    "0008": "rls_enabled_no_policy",
    "0009": "duplicate_index",
    "0010": "security_definer_view",
    "0011": "function_search_path_mutable",
    "0013": "rls_disabled_in_public",
    "0014": "extension_in_public",
    "0015": "rls_references_user_metadata",
    "0016": "materialized_view_in_api",
    "0017": "foreign_table_in_api",
    "0018": "unsupported_reg_types",
    "0019": "insecure_queue_exposed_in_api",
    "0020": "table_bloat",
    "0021": "fkey_to_auth_unique",
    "0022": "extension_versions_outdated",
    "0023": "sensitive_columns_exposed",
    "0024": "rls_policy_always_true",
    "0025": "public_bucket_allows_listing",
    "0026": "pg_graphql_anon_table_exposed",
    "0027": "pg_graphql_authenticated_table_exposed",
    "0028": "anon_security_definer_function_executable",
    "0029": "authenticated_security_definer_function_executable",
}
HEADERS = {check.name: check.summary for check in load_checks()}


def test_every_cited_splinter_lint_number_exists() -> None:
    wrong = {
        name: number
        for name, header in HEADERS.items()
        if "splinter" in header
        for number in re.findall(r"\b(00\d\d)\b", header)
        if number not in SPLINTER_LINTS
    }
    assert wrong == {}


def test_no_header_names_a_splinter_lint_that_does_not_exist() -> None:
    named = {
        name: cited
        for name, header in HEADERS.items()
        for cited in re.findall(r"splinter(?:'s)?(?: lint)? \"([a-z_0-9]+)\"", header)
        if cited not in SPLINTER_LINTS.values()
    }
    assert named == {}


def test_a_check_named_like_a_splinter_lint_cites_its_number() -> None:
    by_name = {lint: number for number, lint in SPLINTER_LINTS.items()}
    missing = {
        name: by_name[name] for name, header in HEADERS.items() if name in by_name and by_name[name] not in header
    }
    assert missing == {}


def test_the_checks_document_is_current() -> None:
    """docs/ADVISORS.md is generated from the headers: a new or changed check means running the tool again."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "advisors_doc.py"
    spec = importlib.util.spec_from_file_location("advisors_doc", tool)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DOC.read_text(encoding="utf-8") == module.render(), "run .venv/bin/python tools/advisors_doc.py"
