"""revbridge system API: one adapter per platform (Stripe, Salesforce, NetSuite) behind canonical models."""
