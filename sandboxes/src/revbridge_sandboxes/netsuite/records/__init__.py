"""Record types served under ``/services/rest/record/v1``: validation rules and JSON rendering."""
