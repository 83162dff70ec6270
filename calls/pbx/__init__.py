"""Everything that speaks the PBX's language: protocol, webhook, journal, client, emulator."""
