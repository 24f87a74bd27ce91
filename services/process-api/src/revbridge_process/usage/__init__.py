"""Usage ingestion: the directory of metered contracts, the intake's rules and stream, the sender."""
