"""NetSuite adapter: customers, invoices, payments, credit memos, refunds and journal entries over
SuiteTalk REST with token-based auth."""
