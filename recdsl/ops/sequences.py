"""Sequence ops: what is done to a behaviour sequence before attention (positions, appending the target)."""
from __future__ import annotations
