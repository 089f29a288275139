"""Work done off the page, on a PostgreSQL-backed job library (procrastinate): any number of workers, one database.

``schema``: procrastinate's tables, installed by the bootstrap in their own schema (``dba_admin_jobs``), out of the
API roles' reach. ``schedules``: the schedules themselves (as the user, under RLS), the tick that finds due
occurrences and the run of one occurrence as its owner. ``alerts`` and ``delivery``: alert rules, their evaluation
and the webhook and e-mail deliveries. ``worker``: the procrastinate App, its tasks and ``dba-admin worker``.
procrastinate itself is imported only by ``worker`` (a worker process, a test, a benchmark): the pages and the
bootstrap use ``schedules``, ``alerts`` and ``schema``, which never import it.
"""
