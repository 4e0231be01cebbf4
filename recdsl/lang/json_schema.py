"""A JSON Schema (draft 2020-12) of the YAML form of a spec (recdsl.lang.yamlform), generated
from the op registry, so an editor's YAML language server validates, completes and documents
`.rec.yaml` specs:

    model: din_ctr                                  name
    doc: CTR ranking                                text
    spec:                                           statement name -> statement
      deep: {block: mlp, args: [fields], units: [256, 128]}
      user: {group: [user_id, gender]}

A statement is dispatched on its kind key and op (`block: mlp`) with if/then to a closed object
of that op's arguments (additionalProperties false: a misspelt argument is an error), each typed
from its registry kind (int/float bounds, enum values, lists, names, nested calls) and described
by its registry doc. Inputs take a name, a nested pool/gate/block call (`{concat: [a, b]}`) or a
list of them. An argument the registry requires must be given by name or by position (`args`).

Editors: the YAML language server (VS Code's YAML extension, Neovim, Helix, Emacs) validates with
draft-07 semantics, so the schema uses only keywords that mean the same there (if/then/else,
const, $ref by JSON pointer); positional arguments are typed by `prefixItems` for 2020-12
validators and by an `items` union of the op's arguments for draft-07 ones (never `items: false`,
which draft-07 reads as "no items at all").

What the schema cannot see, the checker still reports: whether a name is declared, shapes, dims.
Plain YAML strings are names or text as the loader decides; the tags `!ref`, `!str` and `!kw`
read as their scalar (tell the language server with `yaml.customTags`).
"""
from __future__ import annotations

import json

from recdsl.lang.ast import STATEMENT_KINDS
from recdsl.ops import load
from recdsl.ops.params import REQUIRED
from recdsl.ops.registry import ACCEPTS, OpSpec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Op families that may be written inline as an input (`sigmoid(concat(a, b))`), as the checker allows.
NESTED_FAMILIES = ("pool", "gate", "block")
_KIND_DOC = {
    "feature": "a model input: how a data column becomes an embedding field, a bag, a sequence or numbers",
    "pool": "pools a bag or a sequence [B, L, d] to a vector (or re-weights the sequence)",
    "gate": "re-weights fields or vectors (SENet, POSO)",
    "block": "an interaction or transformation: mlp, cross, fm, attention, concat, ...",
    "output": "a prediction head with its loss (several outputs: multi-task)",
}


def spec_schema() -> dict:
    """The JSON Schema of the YAML form, as a dict (JSON-serialisable)."""
    registry = load()
    defs: dict[str, dict] = {
        "name": {"type": "string", "pattern": NAME_PATTERN, "not": {"enum": ["true", "false"]},
                 "description": "the name of a feature, group, pool, gate or block"},
        "statement": _statement(registry),
        "group": {"type": "object", "required": ["group"], "additionalProperties": False,
                  "properties": {"group": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/member"},
                                           "description": "the members of the group, in order"}}},
        "member": _either("object", {"$ref": "#/$defs/nested"}, {"$ref": "#/$defs/name"}),
        "input": _either("array", {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/member"}},
                         {"$ref": "#/$defs/member"}),
        "nested": _call_of([op for op in registry.values() if op.family in NESTED_FAMILIES], (),
                           "an inline op call, {op: {args: [...], key: value}} or {op: [positional...]}"),
    }
    for op in registry.values():
        defs.update((f"{op.name}.{i.name}", _input(i)) for i in op.inputs)
        defs.update((f"{op.name}.{p.name}", _param(p)) for p in op.params)
        defs[f"{op.name}.statement"] = _arguments(op, (), {_kind(op): {"const": op.name,
                                                                      "description": _op_doc(op)}})
        defs[f"{op.name}.body"] = _body(op, ())
    for op in registry.values():  # bodies of calls given as arguments (gate=poso(...) has no `x`)
        for param in op.params:
            if param.kind == "call":
                for inner in param.calls:
                    defs.setdefault(f"{inner}.body-without-x", _body(registry[inner], ("x",)))
    return {
        "$schema": DRAFT,
        "title": "recdsl spec (YAML form)",
        "description": "A recdsl model spec in YAML: `recdsl convert --to yaml` writes one; `recdsl schema` "
                       "writes this schema.",
        "type": "object",
        "required": ["model"],
        "additionalProperties": False,
        "properties": {
            "model": {"$ref": "#/$defs/name", "description": "the model's name"},
            "doc": {"type": ["string", "null"], "description": "what the model is, in one line"},
            "spec": {"type": ["object", "null"], "description": "the statements, by name, in order",
                     "propertyNames": {"$ref": "#/$defs/name"},
                     "additionalProperties": {"$ref": "#/$defs/statement"}},
        },
        "$defs": defs,
    }


def schema_text() -> str:
    """The schema as JSON text, ending in a newline (what `recdsl schema` writes)."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"


def _kind(op: OpSpec) -> str:
    return op.family


def _op_doc(op: OpSpec) -> str:
    return op.summary + (f"\n\ne.g. {op.example}" if op.example else "")


def _statement(registry: dict) -> dict:
    """A mapping with a kind key whose value is an op name (or `group`); the op picks the closed object
    it must be. A kind word can also be an argument (mlp's `gate: {poso: ...}`, din's `output:
    sequence`): then it is no kind, as the loader reads it."""
    dispatch = [{"if": {"required": ["group"], "properties": {"group": {"type": "array"}}},
                 "then": {"$ref": "#/$defs/group"}}]
    for kind in STATEMENT_KINDS:
        ops = [op for op in registry.values() if _kind(op) == kind]
        if kind != "group":
            dispatch.append({"if": _is_kind(registry, kind, {"type": "string"}),
                             "then": {"properties": {kind: {
                                 "enum": [op.name for op in ops], "description": f"a {kind}: {_KIND_DOC[kind]}",
                                 "enumDescriptions": [op.summary for op in ops]}}}})
    for op in registry.values():
        dispatch.append({"if": _is_kind(registry, _kind(op), {"const": op.name}),
                         "then": {"$ref": f"#/$defs/{op.name}.statement"}})
    return {"type": "object", "description": "a statement: {kind: op, args: [...], argument: value, ...}",
            "anyOf": [{"required": [kind]} for kind in STATEMENT_KINDS],
            "allOf": dispatch}


def _is_kind(registry: dict, kind: str, value: dict) -> dict:
    """A statement whose `kind` key holds `value` and is its kind, not an argument of its op."""
    owners = [{"required": [_kind(op)], "properties": {_kind(op): {"const": op.name}}}
              for op in registry.values() if _kind(op) != kind and kind in op.slots]
    out = {"required": [kind], "properties": {kind: value}}
    return {**out, "not": {"anyOf": owners}} if owners else out


def _slots(op: OpSpec, skip: tuple[str, ...]) -> list[tuple[str, dict, bool]]:
    """(name, schema, required) of each argument, in the order positional arguments fill them."""
    slots = [(i.name, not i.optional) for i in op.inputs if i.name not in skip]
    slots += [(p.name, p.required) for p in op.params]
    return [(name, {"$ref": f"#/$defs/{op.name}.{name}"}, required) for name, required in slots]


def _variadic(op: OpSpec, skip: tuple[str, ...]) -> str | None:
    return next((i.name for i in op.inputs if i.variadic and i.name not in skip), None)


def _arguments(op: OpSpec, skip: tuple[str, ...], extra: dict) -> dict:
    """The closed object form: `args` (positional) and every argument by name."""
    slots, variadic = _slots(op, skip), _variadic(op, skip)
    properties = {**extra, "args": _positional(op, skip)}
    properties.update((name, schema) for name, schema, _ in slots)
    out = {"type": "object", "additionalProperties": False, "properties": properties,
           "required": list(extra)}
    rules = []
    for index, (name, _, required) in enumerate(slots):
        if not required:
            continue
        if variadic is not None and name != variadic:
            rules.append({"required": [name]})
        else:  # by name, unless `args` reaches its position
            least = 1 if variadic is not None else index + 1
            rules.append({"if": {"properties": {"args": {"maxItems": least - 1}}}, "then": {"required": [name]}})
    if rules:
        out["allOf"] = rules
    return out


def _positional(op: OpSpec, skip: tuple[str, ...]) -> dict:
    variadic = _variadic(op, skip)
    doc = "positional arguments"
    if variadic is not None:
        return {"type": "array", "items": {"$ref": "#/$defs/input"}, "description": f"{doc}: the `{variadic}` inputs"}
    slots = _slots(op, skip)
    # `items` never applies under 2020-12 (prefixItems covers every allowed position); a draft-07
    # validator applies it to every item: each must fit some argument of the op
    return {"type": "array", "prefixItems": [schema for _, schema, _ in slots], "maxItems": len(slots),
            "items": {"anyOf": [schema for _, schema, _ in slots]},
            "description": f"{doc}, in this order: " + ", ".join(name for name, _, _ in slots)}


def _body(op: OpSpec, skip: tuple[str, ...]) -> dict:
    """A nested call's value: a list of positional arguments, or the object form."""
    slots, variadic = _slots(op, skip), _variadic(op, skip)
    as_list = _positional(op, skip)
    needed = [i for i, (name, _, required) in enumerate(slots) if required]
    if variadic is not None and any(slots[i][0] != variadic for i in needed):
        as_list = False  # a keyword-only required argument: the list form cannot give it
    elif needed:
        as_list = {**as_list, "minItems": 1 if variadic is not None else needed[-1] + 1}
    return {"description": _op_doc(op), "if": {"type": "array"}, "then": as_list,
            "else": _arguments(op, skip, {})}


def _call_of(ops: list[OpSpec], skip: tuple[str, ...], doc: str) -> dict:
    suffix = "body-without-x" if skip else "body"
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "description": doc,
            "properties": {op.name: {"$ref": f"#/$defs/{op.name}.{suffix}"} for op in ops}}


def _input(slot) -> dict:
    return {"$ref": "#/$defs/input", "description": slot.doc or f"{slot.name}: {ACCEPTS[slot.accepts]}"}


def _param(param) -> dict:
    kind = param.kind
    if kind in ("int", "float", "int_list", "num_list"):
        number = {"type": "integer" if kind.startswith("int") else "number", **_bounds(param)}
        schema = number if kind in ("int", "float") else _list_of(number, param.min_items)
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "str":
        schema = {"type": "string", **({"minLength": param.min_length} if param.min_length else {})}
    elif kind == "str_list":
        schema = _list_of({"type": "string"}, param.min_items)
    elif kind == "enum":
        schema = {"enum": list(param.choices)}
    elif kind == "ref":
        schema = {"$ref": "#/$defs/name"}
    elif kind == "table":
        registry = load()
        schema = _either("object", _call_of([registry[c] for c in param.calls], (), "an inline table: "
                                            + " or ".join(f"{{{c}: {{...}}}}" for c in param.calls)),
                         {"$ref": "#/$defs/name"})
    else:  # call
        schema = _call_of([load()[c] for c in param.calls], ("x",), "")
    schema["description"] = _param_doc(param)
    if param.default is not REQUIRED and param.default is not None:
        schema["default"] = list(param.default) if isinstance(param.default, tuple) else param.default
    return schema


def _bounds(param) -> dict:
    out = {}
    if param.low is not None:
        out["minimum"] = param.low
    if param.high is not None:
        out["maximum"] = param.high
    return out


def _list_of(item: dict, min_items: int) -> dict:
    """A list; a single value stands for a list of one, as in .rec (`units=64`)."""
    as_list = {"type": "array", "items": item, "minItems": min_items}
    return _either("array", as_list, item) if min_items <= 1 else as_list


def _either(json_type: str, then: dict, otherwise: dict) -> dict:
    """`then` for a value of `json_type`, `otherwise` for any other (errors name the real problem,
    where anyOf would only say that no alternative fits)."""
    return {"if": {"type": json_type}, "then": then, "else": otherwise}


def _param_doc(param) -> str:
    parts = [param.doc or param.name]
    if param.kind == "enum":
        parts.append("one of " + ", ".join(param.choices))
    if param.kind in ("table", "call"):
        parts.append("takes " + " or ".join(f"{c}(...)" for c in param.calls))
    if param.required:
        parts.append("required")
    elif param.default is not None:
        parts.append(f"default {json.dumps(param.default)}")
    return "; ".join(parts)
