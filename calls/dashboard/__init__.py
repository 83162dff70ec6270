"""The calls dashboard: periods of local days, the rollup of past days, the figures, the
charts' geometry and the admin pages (the dashboard and the call log's CSV export)."""
