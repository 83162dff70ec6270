"""Callbacks owed to clients whose calls were missed: opening and closing them (services) and
their list in the admin (admin)."""
