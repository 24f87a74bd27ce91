"""Salesforce sandbox: an in-memory org speaking the Salesforce REST wire protocol.

Lets revbridge's CRM adapter (and simple-salesforce) run against a local server in demos and CI:
OAuth client credentials, sObject CRUD and upsert, SOQL with paging, and a signed Flow-style
callout when a Contract is activated. Start it with ``python -m revbridge_sandboxes salesforce``.
"""
