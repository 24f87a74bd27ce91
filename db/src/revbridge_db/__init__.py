"""revbridge's own durable record in PostgreSQL (ARCHITECTURE §3): the ledger of facts, the
reporting read model, and (in later migrations) exceptions, reconciliation runs, statuses and the
audit trail. Redis keeps only the working set; this database is what survives.

- ``settings``: ``DATABASE_URL`` and the retention in years;
- ``engine``: the async SQLAlchemy engine on psycopg 3, and the schema check every service runs
  at start-up (migrate when behind, refuse when the database is newer than the code);
- ``schema``: the tables (SQLAlchemy Core), the one source the migrations are written against;
- ``migrations``: Alembic, run by ``revbridge db upgrade`` or at start-up.
"""
