"""2. AST -> CheckedSpec: names resolved, arguments validated, types, shapes and parameters.

Modules, each importing only those above it: problems (what the parts report), spec (the
output), forms (input slot coercion), binding (call -> slots), arguments (values by Param
kind, through a Resolver), checker (drives it all)."""
from recdsl.checker.checker import check

__all__ = ["check"]
