"""`recdsl train`: fit a compiled spec on data files and write the run folder (model, metrics, report)."""
