"""How deep the front end may recurse. Parsing is iterative; checking recurses along chains of
nodes (about 6 Python frames per node or nested call), so it runs with a raised recursion limit
and reports a spec that is deeper still as a normal error, never a RecursionError traceback."""
from __future__ import annotations

import sys
from contextlib import contextmanager

#: The recursion limit the checker runs under. Kept moderate: on Python 3.10 every Python call
#: also uses C stack, and 10,000 frames stay well inside the usual 8 MiB.
MAX_FRAMES = 10_000
#: About how many levels of chained nodes or nested calls that allows.
MAX_DEPTH = MAX_FRAMES // 8


@contextmanager
def deep_recursion():
    """Raise the recursion limit to MAX_FRAMES (never lower it) for the duration."""
    before = sys.getrecursionlimit()
    raised = before < MAX_FRAMES
    if raised:
        sys.setrecursionlimit(MAX_FRAMES)
    try:
        yield
    finally:
        if raised and sys.getrecursionlimit() == MAX_FRAMES:
            sys.setrecursionlimit(before)


def too_deep(span, what: str):
    """The error for a spec nested beyond what the front end handles; `what`: "to check", "to format", ..."""
    from recdsl.lang.errors import SpecError

    return SpecError(span, f"the spec nests too deeply {what}: its chains of nodes or nested calls go "
                           f"beyond about {MAX_DEPTH:,} levels", "split the chain or flatten the nesting")
