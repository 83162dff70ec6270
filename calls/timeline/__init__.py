"""A contact's card: their timeline of calls, callbacks and creation, a page at a time, and the
summary above it (services), shown on the contact's admin page (admin)."""
