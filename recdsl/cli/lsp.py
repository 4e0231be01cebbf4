"""recdsl lsp command (being written)."""
from __future__ import annotations


def add_commands(sub) -> dict:
    return {}
