"""NetSuite adapter: customers, invoices and payments over SuiteTalk REST with token-based auth."""
