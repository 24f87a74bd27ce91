"""HTTP routers of the system API, one per concern; each serves its part of ``system-v1.yaml``."""
