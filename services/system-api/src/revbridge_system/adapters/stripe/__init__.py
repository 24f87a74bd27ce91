"""Stripe adapter: billing customers, subscriptions, invoices, credit notes, refunds and signed
webhooks (official SDK), one client per Stripe account."""
