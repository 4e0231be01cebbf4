"""How an input slot reads the value given to it (the `accepts` forms of the op registry).

A slot gets the members of its argument: one name, a list, or a group, each with its type.
Coercion either returns the one type the op sees or raises TypeProblem naming the member at fault.
"""
from __future__ import annotations

from recdsl.ops.context import TypeProblem
from recdsl.ops.feature_inputs import FeatureInput, FeatureInputs, feature_input
from recdsl.ops.types import BagType, DenseType, FieldListType, FieldType, SeqType, StackType, VectorType, shape_text

POOL_HINT = "pool it first, e.g. `pool {name}_vec = avg({name})`, or use din/attention"


def flatten(members):
    """Expand FieldListType members (groups) into their items."""
    out = []
    for name, t in members:
        if isinstance(t, FieldListType):
            out.extend(t.leaves)
        else:
            out.append((name, t))
    return out


def _what(name: str, t) -> str:
    return f"`{name}` is {t.describe} {shape_text(t)}"


def as_vector(members, op: str):
    items = flatten(members)
    for name, t in items:
        if isinstance(t, (BagType, SeqType)):
            raise TypeProblem(f"{_what(name, t)}; {op} needs a vector [B, n]", POOL_HINT.format(name=name))
    return VectorType(sum(t.width for _, t in items))


def as_fields(members, op: str):
    items = flatten(members)
    count, dims = 0, []
    for name, t in items:
        if isinstance(t, (BagType, SeqType)):
            raise TypeProblem(f"{_what(name, t)}; {op} needs embedding fields", POOL_HINT.format(name=name))
        if isinstance(t, DenseType):
            raise TypeProblem(f"{_what(name, t)}, not an embedding field; {op} needs fields",
                              "embed it: numeric(dim=...) or numeric(boundaries=[...], dim=...)")
        if isinstance(t, VectorType):
            raise TypeProblem(f"{_what(name, t)}, not an embedding field; {op} needs fields",
                              "use features, pooled bags or attention outputs, or feed vectors to mlp/concat")
        dims.append((name, t.dim))
        count += t.count if isinstance(t, StackType) else 1
    for (first, d0), (other, d) in zip(dims, dims[1:]):
        if d != d0:
            raise TypeProblem(
                f"{op} needs fields of one dim, but `{first}` is {d0} and `{other}` is {d}",
                f"give every field of {op} the same embedding dim (dim={d0})")
    return StackType(count, dims[0][1])


def as_query(members, op: str):
    items = flatten(members)
    for name, t in items:
        if isinstance(t, (BagType, SeqType)):
            raise TypeProblem(f"{_what(name, t)}; the {op} query must be one vector per row",
                              POOL_HINT.format(name=name))
        if isinstance(t, StackType):
            raise TypeProblem(f"{_what(name, t)}; the {op} query must be one vector per row",
                              "use concat(...) or mlp to flatten it")
    return FieldType(sum(t.width for _, t in items))


def as_sequence(members, op: str):
    items = flatten(members)
    for name, t in items:
        if not isinstance(t, (BagType, SeqType)):
            raise TypeProblem(f"{_what(name, t)}; {op} needs a sequence or bag [B, L, d]",
                              "pass a sequence(...) or multi(...) feature, or a sequence block")
    (first, t0), lengths = items[0], {t.length for _, t in items}
    if len(lengths) > 1:
        other, t1 = next((n, t) for n, t in items if t.length != t0.length)
        raise TypeProblem(f"sequences of unequal length: `{first}` has {t0.length}, `{other}` has {t1.length}",
                          "give aligned sequences the same max_len")
    kind = SeqType if all(isinstance(t, SeqType) for _, t in items) else BagType
    return kind(t0.length, sum(t.dim for _, t in items))


def as_fields_or_sequence(members, op: str):
    items = flatten(members)
    if items and all(isinstance(t, (BagType, SeqType)) for _, t in items):
        return SeqType(*as_sequence(members, op).shape[1:])
    return as_fields(members, op)


def as_experts(members, op: str):
    """Expert blocks: vectors of one width, kept apart (stacked to [B, K, n], not concatenated)."""
    items = flatten(members)
    for name, t in items:
        if isinstance(t, (BagType, SeqType, StackType)):
            raise TypeProblem(f"{_what(name, t)}; each expert of {op} must be a vector [B, n]",
                              "make each expert a block, e.g. `block e1 = mlp(x, units=[64])`")
    widths = [(name, t.width) for name, t in items]
    for (first, n0), (other, n) in zip(widths, widths[1:]):
        if n != n0:
            raise TypeProblem(f"{op} needs experts of one width, but `{first}` is {n0} wide and `{other}` is {n}",
                              f"give every expert of {op} the same output width ({n0})")
    return StackType(len(items), widths[0][1])


class NotAFeature:
    """A "features" slot's member that is not a feature: its type and the features it reads directly."""

    def __init__(self, value_type, reads: tuple[str, ...]):
        self.type, self.reads = value_type, reads


def feature_members(members, nodes: dict, registry: dict) -> list:
    """A "features" slot's members, groups expanded, each feature as its FeatureInput and anything
    else as a NotAFeature (the checker passes these to as_features)."""
    out = []
    for name, t in flatten(members):
        node = nodes[name]
        reads = tuple(m for m in node.upstream if m in nodes and nodes[m].kind == "feature")
        out.append((name, feature_input(node, nodes, registry) or NotAFeature(t, reads)))
    return out


def as_features(members, op: str):
    """Features read as their model inputs (recdsl.ops.feature_inputs), in order."""
    for name, t in members:
        if not isinstance(t, FeatureInput):
            value_type, reads = (t.type, t.reads) if isinstance(t, NotAFeature) else (t, ())
            named = f"e.g. {', '.join(f'`{r}`' for r in reads)} rather than `{name}`" if reads else \
                "not a node computed from them"
            raise TypeProblem(f"{_what(name, value_type)}, not a feature; {op} reads the features' own ids and "
                              f"values", f"name the features themselves, {named} (a bag or sequence counts each "
                              f"of its rows)")
    return FeatureInputs(tuple(t for _, t in members))


def as_any(members, op: str):
    if len(members) == 1:
        return members[0][1]
    return FieldListType(tuple(members))


class NotAttention:
    """An `attention` slot's member that is not a named attention node, with what the message needs."""

    def __init__(self, type_, candidates: tuple[str, ...], ops: tuple[str, ...], nested_op: str | None = None):
        self.type, self.candidates, self.ops, self.nested_op = type_, candidates, ops, nested_op


def attention_members(members, nodes: dict, registry: dict) -> list:
    """An "attention_node" slot's members: each named attention node (an op with OpSpec.attention)
    as its AttentionNode, anything else as NotAttention (as_attention_node turns it into the error)."""
    from recdsl.ops.outputs import AttentionNode

    ops = tuple(sorted(name for name, spec in registry.items() if spec.attention is not None))
    candidates = tuple(n for n, node in nodes.items() if not node.anonymous and node.op in ops)
    out = []
    for name, t in members:
        node = nodes.get(name)
        spec = registry.get(node.op) if node is not None else None
        if spec is None or spec.attention is None:
            out.append((name, NotAttention(t, candidates, ops)))
        elif node.anonymous:
            out.append((name, NotAttention(t, candidates, ops, nested_op=node.op)))
        else:
            slot = next(i.name for i in spec.inputs if i.mask == "consume")
            out.append((name, AttentionNode(name, node.op, dict(node.input_types)[slot].shape[1])))
    return out


def as_attention_node(members, op: str):
    """One named attention node (see attention_members)."""
    from recdsl.lang.suggest import did_you_mean

    if len(members) != 1:
        raise TypeProblem(f"{op} reads one attention node, got a list of {len(members)}",
                          "write one output per attention node")
    name, t = members[0]
    if not isinstance(t, NotAttention):
        return t
    if t.nested_op is not None:
        raise TypeProblem(f"{op} reads a named attention node, not an inline `{t.nested_op}(...)` call",
                          f"declare it, e.g. `pool {name.split('.')[0]}_att = {t.nested_op}(...)`, use it in the "
                          f"model, and pass its name")
    ops = f"{', '.join(t.ops[:-1])} or {t.ops[-1]}"
    hint = did_you_mean(name, t.candidates) or (
        f"attention nodes: {', '.join(f'`{c}`' for c in t.candidates)}" if t.candidates
        else f"this model has no attention node (an op with attention weights: {ops})")
    raise TypeProblem(f"{_what(name, t.type)}, not an attention node; {op} reads the weights of {ops}", hint)


COERCE = {
    "attention_node": as_attention_node,
    "vector": as_vector,
    "fields": as_fields,
    "query": as_query,
    "sequence": as_sequence,
    "fields_or_sequence": as_fields_or_sequence,
    "any": as_any,
    "experts": as_experts,
    "features": as_features,
}
