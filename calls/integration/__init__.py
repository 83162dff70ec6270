"""The admin's "PBX integration" page: the WebHook URL to paste into the PBX, the PBX settings
(never their secrets) and what the journal says of the last day (services, views)."""
