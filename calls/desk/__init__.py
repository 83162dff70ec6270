"""The agent's desk: the live-call pop-up's poll and the away/back switch (services, views)."""
