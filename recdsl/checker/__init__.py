"""2. AST -> CheckedSpec: names resolved, arguments validated, types, shapes and parameters."""
