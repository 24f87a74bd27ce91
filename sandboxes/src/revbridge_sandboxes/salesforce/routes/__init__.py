"""HTTP routes of the Salesforce sandbox, one module per API area (OAuth, sObjects, query)."""
