"""The experience API's routers, one module per view."""
