"""``python -m revbridge_gateway`` runs the gateway (``GATEWAY_HOST``/``GATEWAY_PORT``)."""

from revbridge_gateway.app import main

main()
