"""The ``analytics`` schema: a star of views over the read model for BI tools (docs/analytics.md).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Every fact view but ``fact_usage`` reads ``revbridge.rm_fact``, the newest version of each fact (a
replaced invoice counts once, at its newest amount), split by the ``measure`` the fold gave it; so
the views stay correct as the projector folds and after ``revbridge rebuild``. The views run with
their owner's rights: a BI role needs only USAGE on ``analytics`` and SELECT on its views, nothing
in ``revbridge``.

Amounts are given twice: ``amount_minor`` (the ledger's integer minor units) and ``amount``, exact
``numeric`` major units (``analytics.to_major``: minor / 10^exponent, ISO 4217 exponents, the list of
``revbridge_system.money``; 2 for any currency not listed). A missing period, entity or currency (the
read model's ``-``) is NULL here.

Two small tables are not derived: ``ref_legal_entity`` and ``ref_product``, written from
config/mappings.yaml by ``revbridge db seed-dimensions`` (names of legal entities, the product
catalogue). ``fact_usage`` (quantities, over ``revbridge.usage_acceptance`` of migration 0003) joins
``dim_product`` by meter; no other fact carries a product (invoice lines are not in the ledger).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ZERO_DECIMAL = (
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
    "XAF", "XOF", "XPF",
)  # fmt: skip
THREE_DECIMAL = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
"""ISO 4217 exponents other than 2, as ``revbridge_system.money`` has them (a test keeps them equal)."""


def _codes(codes: tuple[str, ...]) -> str:
    return ", ".join(f"'{c}'" for c in codes)


# the columns every fact view has, from rm_fact ``f``
COMMON = """
    f.kind, f.key, f.system, f.record_id,
    NULLIF(f.period, '-') AS period,
    analytics.period_start(NULLIF(f.period, '-')) AS period_start,
    NULLIF(f.entity, '-') AS entity,
    NULLIF(f.currency, '-') AS currency,
    f.customer_id, f.contract_id, f.invoice_id, f.status,
    f.amount AS amount_minor,
    analytics.to_major(f.amount, NULLIF(f.currency, '-')) AS amount,
    f.occurred_at, f.recorded_at, f.trace_id, f.ledger_id"""

DDL = rf"""
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS
  'revbridge for BI tools: fact_* and dim_* views over the read model (docs/analytics.md)';

-- ---------------------------------------------------------------- helpers
CREATE FUNCTION analytics.currency_exponent(currency text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN upper(currency) IN ({_codes(ZERO_DECIMAL)}) THEN 0
    WHEN upper(currency) IN ({_codes(THREE_DECIMAL)}) THEN 3
    ELSE 2 END
$$;
COMMENT ON FUNCTION analytics.currency_exponent(text) IS
  'ISO 4217 digits after the decimal point (0 for JPY, KRW, ...; 3 for KWD, BHD, ...; else 2)';

CREATE FUNCTION analytics.to_major(amount bigint, currency text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT round(amount::numeric / (10::numeric ^ analytics.currency_exponent(currency)),
               analytics.currency_exponent(currency))
$$;
COMMENT ON FUNCTION analytics.to_major(bigint, text) IS
  'Integer minor units as exact major units: 125050 USD -> 1250.50, 5000 JPY -> 5000, 1234 KWD -> 1.234';

CREATE FUNCTION analytics.period_start(period text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN period ~ '^\d{{4}}-(0[1-9]|1[0-2])$' THEN to_date(period || '-01', 'YYYY-MM-DD') END
$$;
COMMENT ON FUNCTION analytics.period_start(text) IS
  'The first day of a YYYY-MM period (NULL for anything else)';

-- ---------------------------------------------------------------- reference data (from config)
CREATE TABLE analytics.ref_legal_entity (
    entity text PRIMARY KEY,
    name text NOT NULL,
    subsidiary_id text NOT NULL,
    currency text NOT NULL,
    billing_account text NOT NULL
);
COMMENT ON TABLE analytics.ref_legal_entity IS
  'config/mappings.yaml legal_entities, written by `revbridge db seed-dimensions`';

CREATE TABLE analytics.ref_product (
    product_code text PRIMARY KEY,
    name text,
    product_type text NOT NULL CHECK (product_type IN ('recurring', 'usage')),
    billing_price_ref text NOT NULL,
    erp_item_id text NOT NULL,
    meter_event_name text
);
COMMENT ON TABLE analytics.ref_product IS
  'config/mappings.yaml products and meters, written by `revbridge db seed-dimensions`';

-- ---------------------------------------------------------------- facts
CREATE VIEW analytics.fact_bookings AS
SELECT {COMMON}
FROM revbridge.rm_fact f WHERE f.measure = 'bookings';
COMMENT ON VIEW analytics.fact_bookings IS
  'Grain: one activated contract (contract.booked, newest version). amount = total contract value; '
  'period = start month';

CREATE VIEW analytics.fact_billings AS
SELECT {COMMON}
FROM revbridge.rm_fact f WHERE f.measure = 'billings';
COMMENT ON VIEW analytics.fact_billings IS
  'Grain: one finalized billing (Stripe) invoice (invoice.billed, newest version), usage included. '
  'amount = invoice total; period = issue month';

CREATE VIEW analytics.fact_billing_adjustments AS
SELECT {COMMON},
    CASE WHEN f.measure = 'credits' THEN 'credit'
         WHEN f.status = 'uncollectible' THEN 'uncollectible' ELSE 'void' END AS adjustment_type,
    -f.amount AS signed_amount_minor,
    analytics.to_major(-f.amount, NULLIF(f.currency, '-')) AS signed_amount
FROM revbridge.rm_fact f WHERE f.measure IN ('voids', 'credits');
COMMENT ON VIEW analytics.fact_billing_adjustments IS
  'Grain: one credit note, or one voided / uncollectible invoice (newest version). signed_amount is '
  'negative: what it takes off billings';

CREATE VIEW analytics.fact_collections AS
SELECT {COMMON}
FROM revbridge.rm_fact f WHERE f.measure = 'collections';
COMMENT ON VIEW analytics.fact_collections IS
  'Grain: one successful payment (payment.collected, newest version); period = payment month';

CREATE VIEW analytics.fact_recognized_revenue AS
SELECT {COMMON},
    CASE WHEN f.measure = 'reversed_revenue' THEN 'reversed' ELSE 'recognized' END AS entry_type,
    CASE WHEN f.measure = 'reversed_revenue' THEN -f.amount ELSE f.amount END AS signed_amount_minor,
    analytics.to_major(CASE WHEN f.measure = 'reversed_revenue' THEN -f.amount ELSE f.amount END,
                       NULLIF(f.currency, '-')) AS signed_amount
FROM revbridge.rm_fact f WHERE f.measure IN ('recognized', 'reversed_revenue');
COMMENT ON VIEW analytics.fact_recognized_revenue IS
  'Grain: one revenue journal entry of one invoice line and month (revenue.recognized, newest '
  'version). amount is unsigned as posted; signed_amount is negative for a reversing entry: sum it '
  'for net recognized revenue';

CREATE VIEW analytics.fact_scheduled AS
SELECT {COMMON},
    CASE WHEN f.measure = 'scheduled_billings' THEN 'billings' ELSE 'revenue' END AS schedule,
    f.occurred_at AS schedule_version
FROM revbridge.rm_fact f WHERE f.forecast;
COMMENT ON VIEW analytics.fact_scheduled IS
  'Forecast. Grain: one contract, month and schedule (billing.scheduled / revenue.scheduled) of the '
  'contract''s newest schedule only; usage is not forecast';

CREATE VIEW analytics.fact_records AS
SELECT {COMMON},
    NULLIF(f.measure, '') AS measure, NULLIF(f.pair, '') AS pair, f.forecast, f.unmatched
FROM revbridge.rm_fact f;
COMMENT ON VIEW analytics.fact_records IS
  'Grain: every fact (kind, key), newest version: every measure, the ERP side of each pair, links. '
  'unmatched = its counterpart in the other system is not seen yet';

CREATE VIEW analytics.fact_usage AS
SELECT DISTINCT ON (u.sender, u.event_id)
    u.sender, u.event_id, u.identifier, u.meter, p.product_code, u.quantity,
    to_char(coalesce(u.billed_at, u.occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
    date_trunc('month', coalesce(u.billed_at, u.occurred_at) AT TIME ZONE 'UTC')::date AS period_start,
    coalesce(NULLIF(b.entity, '-'), r.entity) AS entity,
    coalesce(u.customer, b.customer_id) AS customer_id,
    u.contract_id, u.billing_account, u.billing_customer_id,
    u.occurred_at, u.billed_at, u.received_at, u.outcome, u.trace_id, u.id AS acceptance_id
FROM revbridge.usage_acceptance u
LEFT JOIN revbridge.rm_fact b ON b.kind = 'contract.booked' AND b.key = u.contract_id
LEFT JOIN analytics.ref_legal_entity r ON r.billing_account = u.billing_account
LEFT JOIN analytics.ref_product p ON p.product_type = 'usage' AND p.meter_event_name = u.meter
WHERE u.outcome IN ('accepted', 'duplicate') AND u.event_id IS NOT NULL
ORDER BY u.sender, u.event_id, u.outcome = 'accepted' DESC, u.id;
COMMENT ON VIEW analytics.fact_usage IS
  'Grain: one usage event sent to Stripe (sender, event_id), its first accepted answer; a resend '
  '(duplicate) counts once. quantity is the metered quantity (not money: usage is billed inside '
  'fact_billings). period = the month of the timestamp sent to Stripe';

-- ---------------------------------------------------------------- dimensions
CREATE VIEW analytics.dim_period AS
WITH bounds AS (
  SELECT least(min(analytics.period_start(a.period)), date_trunc('month', current_date)::date) AS lo,
         greatest(max(analytics.period_start(a.period)), date_trunc('month', current_date)::date) AS hi
  FROM revbridge.rm_agg a
)
SELECT to_char(m, 'YYYY-MM') AS period,
       m::date AS month_start,
       (m + interval '1 month' - interval '1 day')::date AS month_end,
       extract(year FROM m)::integer AS year,
       extract(quarter FROM m)::integer AS quarter,
       to_char(m, 'YYYY-"Q"Q') AS year_quarter,
       extract(month FROM m)::integer AS month,
       to_char(m, 'FMMonth') AS month_name,
       m::date = date_trunc('month', current_date)::date AS is_current_month
FROM bounds, generate_series(bounds.lo, bounds.hi, interval '1 month') AS m;
COMMENT ON VIEW analytics.dim_period IS
  'Grain: one calendar month (period YYYY-MM), every month from the first the read model holds to '
  'the last (forecasts included) and at least the current one';

CREATE VIEW analytics.dim_entity AS
SELECT e.entity, r.name, r.subsidiary_id, r.currency AS functional_currency, r.billing_account,
       r.entity IS NOT NULL AS configured
FROM (SELECT entity FROM revbridge.rm_agg WHERE entity <> '-'
      UNION SELECT entity FROM analytics.ref_legal_entity) e
LEFT JOIN analytics.ref_legal_entity r USING (entity);
COMMENT ON VIEW analytics.dim_entity IS
  'Grain: one legal entity code (US, GB: a billing country of config legal_entities). Names from '
  '`revbridge db seed-dimensions`';

CREATE VIEW analytics.dim_currency AS
SELECT c.currency, analytics.currency_exponent(c.currency) AS exponent,
       (10::numeric ^ analytics.currency_exponent(c.currency))::bigint AS minor_per_major
FROM (SELECT currency FROM revbridge.rm_agg WHERE currency <> '-'
      UNION SELECT currency FROM analytics.ref_legal_entity) c;
COMMENT ON VIEW analytics.dim_currency IS
  'Grain: one ISO 4217 currency seen in the read model or billed by a legal entity';

CREATE VIEW analytics.dim_customer AS
WITH ids AS (SELECT DISTINCT customer_id FROM revbridge.rm_fact WHERE customer_id IS NOT NULL)
SELECT i.customer_id,
       cl.record_id AS billing_customer_id,
       el.record_id AS erp_customer_id,
       coalesce(NULLIF(cl.entity, '-'), b.entity) AS entity,
       b.contracts,
       b.first_booked_period,
       b.first_booked_at
FROM ids i
LEFT JOIN revbridge.rm_fact cl ON cl.kind = 'customer.linked' AND cl.key = i.customer_id
LEFT JOIN revbridge.rm_fact el ON el.kind = 'erp_customer.linked' AND el.key = i.customer_id
LEFT JOIN LATERAL (
  SELECT count(*) AS contracts,
         min(NULLIF(x.period, '-')) AS first_booked_period,
         min(x.occurred_at) AS first_booked_at,
         (array_agg(NULLIF(x.entity, '-') ORDER BY x.o DESC))[1] AS entity
  FROM revbridge.rm_fact x WHERE x.kind = 'contract.booked' AND x.customer_id = i.customer_id
) b ON true;
COMMENT ON VIEW analytics.dim_customer IS
  'Grain: one customer (CRM account id) of any fact, with its billing and ERP customer ids. The '
  'account name is not in the ledger';

CREATE VIEW analytics.dim_contract AS
WITH ids AS (SELECT DISTINCT contract_id FROM revbridge.rm_fact WHERE contract_id IS NOT NULL)
SELECT i.contract_id,
       b.customer_id,
       NULLIF(b.entity, '-') AS entity,
       NULLIF(b.currency, '-') AS currency,
       b.status,
       NULLIF(b.period, '-') AS start_period,
       b.occurred_at AS activated_at,
       b.amount AS contract_value_minor,
       analytics.to_major(b.amount, NULLIF(b.currency, '-')) AS contract_value,
       s.record_id AS subscription_id,
       s.status AS subscription_status,
       to_timestamp(c.first_bill_ms / 1000.0) AS first_billed_at,
       round(c.cycle_ms / 86400000.0, 2) AS days_to_first_bill,
       b.key IS NOT NULL AS booked
FROM ids i
LEFT JOIN revbridge.rm_fact b ON b.kind = 'contract.booked' AND b.key = i.contract_id
LEFT JOIN revbridge.rm_fact s ON s.kind = 'subscription.linked' AND s.key = i.contract_id
LEFT JOIN revbridge.rm_cycle c ON c.contract_id = i.contract_id;
COMMENT ON VIEW analytics.dim_contract IS
  'Grain: one CRM contract of any fact; its booking (value, start, entity) when booked, its '
  'subscription, and its first bill';

CREATE VIEW analytics.dim_product AS
SELECT product_code, name, product_type, billing_price_ref, erp_item_id, meter_event_name
FROM analytics.ref_product;
COMMENT ON VIEW analytics.dim_product IS
  'Grain: one product code of config/mappings.yaml (recurring products and usage meters). '
  'fact_usage joins it by meter; no other fact carries a product (invoice lines are not in the ledger)';
"""


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS analytics CASCADE")
