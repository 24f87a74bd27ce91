"""revbridge's shared contracts: canonical models, event definitions and the OpenAPI/AsyncAPI documents.

Services never import each other; this package is the only code they share. Its models are
the canonical shapes every adapter maps to and from, so no vendor shape crosses a layer.
"""
