"""Stripe adapter: billing customers, subscriptions, invoices and signed webhooks (official SDK)."""
