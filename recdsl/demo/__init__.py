"""The demo: a synthetic click log with a planted interest signal, and the specs trained on it."""
