"""Transitional import path for code outside recdsl.training that still imports from here
(recdsl/__init__.py: train, evaluate, predict; recdsl/serving/export.py: load_run;
tests/serving/test_export.py: train, predict). Delete this module once they import from
recdsl.training.fit, .scoring and .runs."""
from recdsl.training.fit import train
from recdsl.training.runs import load_run
from recdsl.training.scoring import evaluate, predict

__all__ = ["evaluate", "load_run", "predict", "train"]
