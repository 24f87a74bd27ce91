"""revbridge gateway: OAuth token service, contract-driven policy engine and router."""
