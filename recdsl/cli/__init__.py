"""The `recdsl` command: the only code that prints or exits."""
from recdsl.cli.main import main

__all__ = ["main"]
