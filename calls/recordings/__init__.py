"""Recordings: our copy of each call's recording (services, with the links it may fetch and
the fetch itself), the worker's tasks, the player over HTTP (views) and their admin."""
