"""Services: the one home for SQL. Each function takes a session and commits nothing itself."""
