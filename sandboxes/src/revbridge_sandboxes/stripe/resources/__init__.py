"""HTTP routers of the Stripe sandbox's ``/v1`` API, one module per resource family."""
