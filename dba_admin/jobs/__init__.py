"""Work done off the page: scheduled runs and alerts, on a PostgreSQL-backed job library."""
