"""revbridge process API: the revenue flows (onboarding, invoice and payment posting), their
Redis Streams workers, the exception queue, and revenue positions and lineage."""
