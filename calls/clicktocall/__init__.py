"""Click-to-call: placing a call through the PBX (services), its admin buttons and attempt log
(admin) and its REST endpoint (api)."""
