"""``python -m revbridge_process`` runs the process API."""

from revbridge_process.app import main

main()
