"""The YAML dialect of a spec (recdsl.lang.yamlform), shared by reading and writing: the tags,
the YAML 1.2-style scalar resolvers, the loader and dumper classes, and which argument slots
read an untagged string as text."""
from __future__ import annotations

import re
from functools import lru_cache

import yaml

from recdsl.lang import ast

REF, TEXT, KW = "!ref", "!str", "!kw"
STR, INT, FLOAT, BOOL, NULL, SEQ, MAP = (
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
TOP_KEYS = ("model", "doc", "spec")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED = ("true", "false")  # keywords of the .rec grammar, never names
_TEXT_KINDS = ("str", "str_list")
_RESOLVERS = (
    (BOOL, r"(?:true|True|TRUE|false|False|FALSE)\Z"),
    (NULL, r"(?:~|null|Null|NULL|)\Z"),
    (INT, r"[-+]?(?:0|[1-9][0-9_]*)\Z"),
    (FLOAT, r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?\Z"
            r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+\Z|[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z"),
)


class SpecLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style scalars, the spec tags, and no aliases."""

    yaml_implicit_resolvers: dict = {}

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not supported in a spec",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


class SpecDumper(yaml.SafeDumper):
    """Quotes any string that YAML 1.1 or the spec loader would read as a non-string."""

    yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()}

    def choose_scalar_style(self):
        if self.event.tag in (REF, KW) and not self.event.style and NAME.match(self.event.value):
            return ""  # `!ref name`, not `!ref 'name'`
        return super().choose_scalar_style()


for _tag, _pattern in _RESOLVERS:
    SpecLoader.add_implicit_resolver(_tag, re.compile(_pattern), None)
    SpecDumper.add_implicit_resolver(_tag, re.compile(_pattern), None)
SpecLoader.add_constructor(REF, lambda loader, node: ast.Name(loader.construct_scalar(node)))
SpecLoader.add_constructor(TEXT, lambda loader, node: ast.Str(loader.construct_scalar(node)))


@lru_cache(maxsize=1)
def _registry() -> dict:
    from recdsl.ops import load

    return load()


def text_slot(op: str, position: int | None = None, name: str | None = None) -> bool:
    """Whether an argument of `op` reads an untagged string as ast.Str (else ast.Name)."""
    spec = _registry().get(op)
    if spec is None:
        return False
    if name is None:
        if any(i.variadic for i in spec.inputs) or position >= len(spec.slots):
            return False
        name = spec.slots[position]
    param = spec.param(name)
    return param is not None and param.kind in _TEXT_KINDS


def declares(op: str, name: str) -> bool:
    """Whether `op` has an argument called `name` (which may then be a statement kind's word)."""
    spec = _registry().get(op)
    return spec is not None and name in spec.slots
