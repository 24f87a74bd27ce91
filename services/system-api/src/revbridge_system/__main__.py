"""``python -m revbridge_system`` runs the system API."""

from revbridge_system.app import main

main()
