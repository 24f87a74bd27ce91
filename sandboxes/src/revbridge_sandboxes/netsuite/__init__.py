"""NetSuite sandbox: an in-memory SuiteTalk REST server (records, SuiteQL, async jobs, TBA auth).

The revbridge NetSuite adapter talks to this exactly as it would to a real account, with only the
base URL changed. ``app.create_app`` is the entry point; nothing here runs at import time.
"""
