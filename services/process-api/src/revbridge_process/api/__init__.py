"""HTTP routers of the process API, one module per resource of ``process-v1.yaml``."""
