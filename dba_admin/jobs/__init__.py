"""Scheduled runs on a PostgreSQL-backed job library (procrastinate): any number of workers, one database.

``schema``: procrastinate's tables, installed by the bootstrap in their own schema (``dba_admin_jobs``), out of the
API roles' reach. ``schedules``: the schedules themselves (as the user, under RLS), the tick that finds due
occurrences and the run of one occurrence as its owner. ``worker``: the procrastinate App, its two tasks and
``dba-admin worker``. procrastinate itself is imported only by ``worker`` (a worker process, a test, a benchmark): the
pages and the bootstrap use ``schedules`` and ``schema``, which never import it.
"""
