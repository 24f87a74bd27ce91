"""Wire-compatible emulators of the SaaS platforms revbridge links (Stripe, Salesforce, NetSuite).

Each sandbox is a stateful in-memory server that speaks the platform's real wire protocol, so
the platform's official SDK works against it with only the base URL changed. Admin calls that
only tests and demos use live under ``/__sandbox/``.
"""
