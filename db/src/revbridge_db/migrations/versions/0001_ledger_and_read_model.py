"""The ledger of facts (append-only) and the reporting read model folded from it.

Revision ID: 0001
Revises:
Create Date: 2026-12-07

The fold is PL/pgSQL, one call per fact inside the database, as the Redis read model's Lua script
was: a fact's identity is (kind, key); the newest version wins (occurred, then recorded); a
redelivered version is a ``duplicate``, an older one ``stale``; a newer one ``replaced`` the old, its
contribution to every aggregate taken out first. A contract's forecast (billing.scheduled,
revenue.scheduled) is one version: a newer schedule supersedes every month of the older one.

``rm_fold_pending(batch, guarded)`` folds ledger rows in (txid, id) order past the watermark, only from
transactions older than every running one (``pg_snapshot_xmin``), so a row committed late by a
slow transaction is never skipped; fold, watermark and counters commit together, so each ledger
row is folded exactly once. Guarded, a row that fails to fold is recorded in ``rm_bad`` with its
reason (a subtransaction per row); unguarded (the fast path, about twice the rate) a failure rolls
the batch back and the caller folds it again guarded.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DDL = r"""
CREATE TABLE revbridge.ledger_fact (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind text NOT NULL,
    key text NOT NULL,
    system text NOT NULL,
    record_id text NOT NULL,
    contract_id text,
    customer_id text,
    invoice_id text,
    entity text,
    currency text,
    amount bigint,
    period text,
    status text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    trace_id text,
    correlation_id text,
    source_event_id text,
    flow text,
    attempt integer,
    inserted_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_fact_version UNIQUE (kind, key, occurred_at, recorded_at)
);
CREATE INDEX ledger_fact_fold_order ON revbridge.ledger_fact (txid, id);
CREATE INDEX ledger_fact_inserted ON revbridge.ledger_fact (inserted_at);
CREATE INDEX ledger_fact_contract ON revbridge.ledger_fact (contract_id);
CREATE INDEX ledger_fact_invoice ON revbridge.ledger_fact (invoice_id);
COMMENT ON TABLE revbridge.ledger_fact IS
  'Append-only: every version of every fact revbridge read or wrote on a platform';

-- append-only: no UPDATE ever; DELETE only by the retention purge, which sets revbridge.purge
CREATE FUNCTION revbridge.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('revbridge.purge', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'revbridge.%: % refused, the table is append-only', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER ledger_fact_append_only BEFORE UPDATE OR DELETE ON revbridge.ledger_fact
  FOR EACH ROW EXECUTE FUNCTION revbridge.append_only();
CREATE TRIGGER ledger_fact_no_truncate BEFORE TRUNCATE ON revbridge.ledger_fact
  FOR EACH STATEMENT EXECUTE FUNCTION revbridge.append_only();

CREATE TABLE revbridge.rm_role (
    kind text PRIMARY KEY,
    measure text NOT NULL,
    pair text NOT NULL,
    side text NOT NULL,
    other text NOT NULL,
    forecast boolean NOT NULL,
    reversed_measure text NOT NULL
);

CREATE TABLE revbridge.rm_fact (
    kind text NOT NULL,
    key text NOT NULL,
    measure text NOT NULL,
    pair text NOT NULL,
    forecast boolean NOT NULL,
    period text NOT NULL,
    entity text NOT NULL,
    currency text NOT NULL,
    amount bigint,
    o bigint NOT NULL,
    r bigint NOT NULL,
    unmatched boolean NOT NULL DEFAULT false,
    contract_id text,
    customer_id text,
    invoice_id text,
    system text NOT NULL,
    record_id text NOT NULL,
    status text,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    trace_id text,
    correlation_id text,
    ledger_id bigint NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX rm_fact_drill ON revbridge.rm_fact (measure, period, entity, currency, o DESC, kind, key);
CREATE INDEX rm_fact_unmatched ON revbridge.rm_fact (pair, period, entity, currency, o DESC, kind, key)
  WHERE unmatched;
CREATE INDEX rm_fact_contract ON revbridge.rm_fact (contract_id);
CREATE INDEX rm_fact_customer ON revbridge.rm_fact (customer_id);
CREATE INDEX rm_fact_invoice ON revbridge.rm_fact (invoice_id);

CREATE TABLE revbridge.rm_agg (
    period text NOT NULL,
    entity text NOT NULL,
    currency text NOT NULL,
    measure text NOT NULL,
    class text NOT NULL,
    total bigint NOT NULL DEFAULT 0,
    n bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (period, entity, currency, measure)
);
CREATE TABLE revbridge.rm_schedule (contract_id text PRIMARY KEY, version_ms bigint NOT NULL);
CREATE TABLE revbridge.rm_sync (
    entity text NOT NULL, pair text NOT NULL, what text NOT NULL, n bigint NOT NULL,
    PRIMARY KEY (entity, pair, what)
);
CREATE TABLE revbridge.rm_latency (
    month text NOT NULL, key text NOT NULL, ms bigint NOT NULL, PRIMARY KEY (month, key)
);
CREATE TABLE revbridge.rm_cycle (contract_id text PRIMARY KEY, first_bill_ms bigint, cycle_ms bigint);
CREATE TABLE revbridge.rm_state (name text PRIMARY KEY, value bigint NOT NULL, text_value text);
CREATE TABLE revbridge.rm_bad (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ledger_id bigint,
    reason text NOT NULL,
    fields jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION revbridge.rm_ms(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT floor(extract(epoch FROM t) * 1000)::bigint
$$;

CREATE FUNCTION revbridge.rm_add(p text, e text, c text, m text, cls text, amount bigint, k bigint)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO revbridge.rm_agg AS a (period, entity, currency, measure, class, total, n)
  VALUES (p, e, c, m, cls, amount, k)
  ON CONFLICT (period, entity, currency, measure)
  DO UPDATE SET total = a.total + excluded.total, n = a.n + excluded.n
$$;

CREATE FUNCTION revbridge.rm_count(name text, k bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO revbridge.rm_state AS s (name, value) VALUES (name, k)
  ON CONFLICT (name) DO UPDATE SET value = s.value + excluded.value
$$;

CREATE FUNCTION revbridge.rm_sync_add(e text, p text, what text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO revbridge.rm_sync AS s (entity, pair, what, n) VALUES (e, p, what, 1)
  ON CONFLICT (entity, pair, what) DO UPDATE SET n = s.n + 1
$$;

CREATE FUNCTION revbridge.rm_fold(f revbridge.ledger_fact) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  role revbridge.rm_role;
  v_o bigint := revbridge.rm_ms(f.occurred_at);
  v_r bigint := revbridge.rm_ms(f.recorded_at);
  v_p text := coalesce(f.period, '-');
  v_e text := coalesce(f.entity, '-');
  v_c text := coalesce(f.currency, '-');
  v_measure text;
  old revbridge.rm_fact;
  has_old boolean;
  cd revbridge.rm_fact;
  x revbridge.rm_fact;
  version bigint;
  result text := 'applied';
  billed_o bigint;
  posted_r bigint;
  lat_month text;
  first_ms bigint;
  booked_o bigint;
BEGIN
  SELECT * INTO role FROM revbridge.rm_role WHERE kind = f.kind;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown fact kind %', f.kind;
  END IF;
  v_measure := CASE WHEN role.reversed_measure <> '' AND f.status = 'reversed'
                    THEN role.reversed_measure ELSE role.measure END;

  SELECT * INTO old FROM revbridge.rm_fact WHERE kind = f.kind AND key = f.key;
  has_old := FOUND;
  IF has_old AND (old.o > v_o OR (old.o = v_o AND old.r >= v_r)) THEN
    IF old.o = v_o AND old.r = v_r THEN RETURN 'duplicate'; END IF;
    RETURN 'stale';
  END IF;

  -- a contract's schedule is one version: a newer one supersedes every month of the older one
  IF role.forecast AND f.contract_id IS NOT NULL THEN
    SELECT version_ms INTO version FROM revbridge.rm_schedule WHERE contract_id = f.contract_id;
    IF version IS NOT NULL AND v_o < version THEN RETURN 'stale'; END IF;
    IF version IS NULL OR v_o > version THEN
      INSERT INTO revbridge.rm_schedule (contract_id, version_ms) VALUES (f.contract_id, v_o)
      ON CONFLICT (contract_id) DO UPDATE SET version_ms = excluded.version_ms;
      FOR x IN
        DELETE FROM revbridge.rm_fact
        WHERE forecast AND contract_id = f.contract_id AND o < v_o AND NOT (kind = f.kind AND key = f.key)
        RETURNING *
      LOOP
        PERFORM revbridge.rm_add(x.period, x.entity, x.currency, x.measure, 'f', -coalesce(x.amount, 0), -1);
        PERFORM revbridge.rm_count('superseded', 1);
      END LOOP;
    END IF;
  END IF;

  IF has_old THEN  -- take the older version's contribution out before the newer one goes in
    IF old.measure <> '' THEN
      PERFORM revbridge.rm_add(old.period, old.entity, old.currency, old.measure,
                               CASE WHEN old.forecast THEN 'f' ELSE 'a' END, -coalesce(old.amount, 0), -1);
    END IF;
    IF old.unmatched THEN
      PERFORM revbridge.rm_add(old.period, old.entity, old.currency, 'um:' || old.pair, 'u', 0, -1);
    END IF;
    result := 'replaced';
  END IF;

  INSERT INTO revbridge.rm_fact AS t (
    kind, key, measure, pair, forecast, period, entity, currency, amount, o, r, unmatched,
    contract_id, customer_id, invoice_id, system, record_id, status, occurred_at, recorded_at,
    trace_id, correlation_id, ledger_id)
  VALUES (
    f.kind, f.key, v_measure, role.pair, role.forecast, v_p, v_e, v_c, f.amount, v_o, v_r, false,
    f.contract_id, f.customer_id, f.invoice_id, f.system, f.record_id, f.status, f.occurred_at,
    f.recorded_at, f.trace_id, f.correlation_id, f.id)
  ON CONFLICT (kind, key) DO UPDATE SET
    measure = excluded.measure, period = excluded.period, entity = excluded.entity,
    currency = excluded.currency, amount = excluded.amount, o = excluded.o, r = excluded.r,
    unmatched = false, contract_id = excluded.contract_id, customer_id = excluded.customer_id,
    invoice_id = excluded.invoice_id, system = excluded.system, record_id = excluded.record_id,
    status = excluded.status, occurred_at = excluded.occurred_at, recorded_at = excluded.recorded_at,
    trace_id = excluded.trace_id, correlation_id = excluded.correlation_id, ledger_id = excluded.ledger_id;

  IF v_measure <> '' THEN
    PERFORM revbridge.rm_add(v_p, v_e, v_c, v_measure, CASE WHEN role.forecast THEN 'f' ELSE 'a' END,
                             coalesce(f.amount, 0), 1);
  END IF;

  -- pairs (source in billing/CRM, target in the ERP): unmatched records and sync counts
  IF role.pair <> '' THEN
    SELECT * INTO cd FROM revbridge.rm_fact WHERE kind = role.other AND key = f.key;
    IF FOUND THEN
      IF cd.unmatched THEN
        UPDATE revbridge.rm_fact SET unmatched = false WHERE kind = cd.kind AND key = cd.key;
        PERFORM revbridge.rm_add(cd.period, cd.entity, cd.currency, 'um:' || role.pair, 'u', 0, -1);
      END IF;
      IF result = 'applied' THEN
        PERFORM revbridge.rm_sync_add(CASE WHEN role.side = 't' THEN cd.entity ELSE v_e END, role.pair, 'ok');
      END IF;
      -- invoice latency: billed (occurred) -> first posted (recorded), per month of posting
      IF role.pair = 'invoice_posting' AND result = 'applied' THEN
        IF role.side = 't' THEN
          billed_o := cd.o; posted_r := v_r;
          lat_month := to_char(f.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM');
        ELSE
          billed_o := v_o; posted_r := cd.r;
          lat_month := to_char(cd.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM');
        END IF;
        INSERT INTO revbridge.rm_latency (month, key, ms)
        VALUES (lat_month, f.key, greatest(0, posted_r - billed_o))
        ON CONFLICT (month, key) DO UPDATE SET ms = excluded.ms;
      END IF;
    ELSE
      UPDATE revbridge.rm_fact SET unmatched = true WHERE kind = f.kind AND key = f.key;
      PERFORM revbridge.rm_add(v_p, v_e, v_c, 'um:' || role.pair, 'u', 0, 1);
    END IF;
    IF role.side = 's' AND result = 'applied' THEN
      PERFORM revbridge.rm_sync_add(v_e, role.pair, 'src');
    END IF;
  END IF;

  -- contract-to-first-bill cycle time
  IF f.kind = 'invoice.billed' AND f.contract_id IS NOT NULL THEN
    INSERT INTO revbridge.rm_cycle AS y (contract_id, first_bill_ms) VALUES (f.contract_id, v_o)
    ON CONFLICT (contract_id) DO UPDATE
      SET first_bill_ms = least(coalesce(y.first_bill_ms, excluded.first_bill_ms), excluded.first_bill_ms)
    RETURNING first_bill_ms INTO first_ms;
    SELECT o INTO booked_o FROM revbridge.rm_fact WHERE kind = 'contract.booked' AND key = f.contract_id;
    IF FOUND THEN
      UPDATE revbridge.rm_cycle SET cycle_ms = greatest(0, first_ms - booked_o)
      WHERE contract_id = f.contract_id;
    END IF;
  ELSIF f.kind = 'contract.booked' THEN
    UPDATE revbridge.rm_cycle SET cycle_ms = greatest(0, first_bill_ms - v_o)
    WHERE contract_id = f.key AND first_bill_ms IS NOT NULL;
  END IF;
  RETURN result;
END $$;

CREATE FUNCTION revbridge.rm_fold_pending(batch integer, guarded boolean DEFAULT true)
RETURNS TABLE (outcome text, n bigint) LANGUAGE plpgsql AS $$
DECLARE
  w_tx xid8;
  w_id bigint;
  horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
  f revbridge.ledger_fact;
  res text;
  last_tx xid8;
  last_id bigint;
  counts jsonb := '{}'::jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock(7311002);  -- one folder at a time: the watermark is a single cursor
  SELECT text_value::xid8, value INTO w_tx, w_id FROM revbridge.rm_state WHERE name = 'watermark';
  IF NOT FOUND THEN w_tx := '0'::xid8; w_id := 0; END IF;
  FOR f IN
    SELECT * FROM revbridge.ledger_fact l
    WHERE (l.txid, l.id) > (w_tx, w_id) AND l.txid < horizon
    ORDER BY l.txid, l.id LIMIT batch
  LOOP
    IF guarded THEN  -- a subtransaction per row: a row that fails is recorded, the rest fold
      BEGIN
        res := revbridge.rm_fold(f);
      EXCEPTION WHEN OTHERS THEN
        INSERT INTO revbridge.rm_bad (ledger_id, reason, fields)
        VALUES (f.id, left(SQLERRM, 1000), to_jsonb(f) - 'txid');
        res := 'bad';
      END;
    ELSE  -- the fast path: any failure rolls the whole batch back, to be folded again guarded
      res := revbridge.rm_fold(f);
    END IF;
    counts := jsonb_set(counts, ARRAY[res], to_jsonb(coalesce((counts ->> res)::bigint, 0) + 1));
    last_tx := f.txid; last_id := f.id;
  END LOOP;
  IF last_id IS NOT NULL THEN
    INSERT INTO revbridge.rm_state (name, value, text_value) VALUES ('watermark', last_id, last_tx::text)
    ON CONFLICT (name) DO UPDATE SET value = excluded.value, text_value = excluded.text_value;
    INSERT INTO revbridge.rm_state (name, value) VALUES ('folded_at_ms', revbridge.rm_ms(clock_timestamp()))
    ON CONFLICT (name) DO UPDATE SET value = excluded.value;
    PERFORM revbridge.rm_count(k, v::bigint) FROM jsonb_each_text(counts) AS e(k, v);
  END IF;
  RETURN QUERY SELECT k, v::bigint FROM jsonb_each_text(counts) AS e(k, v);
END $$;
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    for name in (
        "rm_fold_pending(integer, boolean)",
        "rm_fold(revbridge.ledger_fact)",
        "rm_sync_add(text, text, text)",
        "rm_count(text, bigint)",
        "rm_add(text, text, text, text, text, bigint, bigint)",
        "rm_ms(timestamptz)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS revbridge.{name}")
    for table in (
        "rm_bad",
        "rm_state",
        "rm_cycle",
        "rm_latency",
        "rm_sync",
        "rm_schedule",
        "rm_agg",
        "rm_fact",
        "rm_role",
        "ledger_fact",
    ):
        op.execute(f"DROP TABLE IF EXISTS revbridge.{table}")
    op.execute("DROP FUNCTION IF EXISTS revbridge.append_only()")
