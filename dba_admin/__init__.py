"""DBA Admin: a browser workbench for the people who run a Supabase (PostgreSQL) database."""

__version__ = "0.1.0"
