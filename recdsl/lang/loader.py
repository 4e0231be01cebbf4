"""Read a spec file in either form (.rec text or .yaml) into the AST."""
from __future__ import annotations

from pathlib import Path

from recdsl.lang import ast

YAML_SUFFIXES = (".yaml", ".yml")


def read_sources(path: str | Path) -> dict[str, str]:
    path = Path(path)
    return {str(path): path.read_text(encoding="utf-8-sig")}


def load_spec(path: str | Path) -> ast.Spec:
    """Raises OSError when the file cannot be read, SpecErrors when it does not parse."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in YAML_SUFFIXES:
        from recdsl.lang.yamlform import load_yaml

        return load_yaml(text, str(path))
    from recdsl.lang.parser import parse

    return parse(text, str(path))
