"""PgHero's check queries (bench/pghero/queries.py), for bench/advisors_compare.py."""
