"""The admin header's search: contacts and calls by a number, a name or a company."""
