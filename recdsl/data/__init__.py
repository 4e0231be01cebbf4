"""Data for recdsl models: synthetic click logs and input pipelines (numpy + pyarrow, no pandas)."""
