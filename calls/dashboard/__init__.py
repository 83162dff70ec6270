"""The calls dashboard: periods of local days, the rollup of past days and the totals read from
it, the figures, the charts' geometry and the admin pages (the dashboard and the CSV export)."""
