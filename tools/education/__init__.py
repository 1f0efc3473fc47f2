"""Investor education: lessons per behaviour flag, as data, citing the client's own evidence."""
