"""The op registry: what the checker, the diagram, the emitter and training know about each op.

An entry declares the op's tensor inputs (which value types they accept and what happens
to their padding masks), its arguments (kind, default, allowed values, whether they reach
the layer), a rule for its output type, a rule for its trainable-parameter count, its
diagram label, the dotted path of its Keras layer and how that layer is called (its emit
contract), plus what the op means downstream: a feature's model input, an attention
pool's weights, an output's head. No module outside ops/ branches on an op's name.
Nothing here imports Keras: the layer is loaded only by the emitter.

The emit contract. The emitter joins each input slot's members to one tensor (in the form
the slot `accepts`), then calls the layer once:
    layer(x)                    when the op has one non-variadic tensor input present;
    layer([x1, x2, ...])        otherwise: the present slots in declaration order (a variadic
                                slot contributes each of its values), then the tensor inputs
                                of nested calls (`mlp(gate=poso(by=...))`), in that order;
    mask=...                    the padding mask of the slot whose `mask` is "consume", when
                                that value has one.
A "features" slot is not joined: it contributes its features' model inputs, one tensor each (groups
expanded, in order), and the layer is also built with `<slot>=[{name, form, table, rows, size}, ...]`
describing them (recdsl.ops.feature_inputs).
The layer is built as `cls(name=..., **layer_args, **{p: value for every to_layer param})`.
A sequence output keeps the mask of its first "consume" or "keep" slot, unless the op changes
its positions (append): then it names a `mask_layer`, built as `cls(name=NODE-mask)` and called
as the op's layer is, whose output [B, L'] is the mask the output keeps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from recdsl.ops.context import OpContext
from recdsl.ops.params import ARG_KINDS, Param

#: What an input slot accepts; the checker coerces the argument to this form.
ACCEPTS = {
    "vector": "anything that flattens to [B, n]: fields, groups, vectors, stacks",
    "fields": "embedding fields of one dim, stacked to [B, F, d]",
    "query": "an embedding field, a list of them (concatenated), or a vector: [B, d]",
    "sequence": "a sequence or multi-valued bag [B, L, d], or a list of them of one length",
    "fields_or_sequence": "fields of one dim [B, F, d] or a sequence [B, L, d]",
    "experts": "a list of vectors of one width (expert blocks), stacked to [B, K, n]",
    "features": "features read as their model inputs (ids, bucket rows, values), not embedded: one tensor each "
                "(recdsl.ops.feature_inputs)",
    "any": "any value",
    "attention_node": "one named attention node (an op with attention weights): the weights it gives each position",
}

#: What happens to the padding mask of a value given to an input slot.
MASKS = {
    "none": "the slot never holds a masked value (its form excludes sequences and bags)",
    "consume": "the mask is passed to the layer as mask=; a sequence output keeps it",
    "keep": "the layer ignores the mask; a sequence output keeps it (element-wise ops)",
    "aligned": "the mask is that of another slot with the same positions (attention values)",
}

#: Forms a slot can take that may hold a masked value; such slots must say what happens to the mask.
MASKABLE = ("sequence", "fields_or_sequence", "any")

#: How a feature op's column reaches the model (feature ops only).
FEATURE_FORMS = {
    "row": "one categorical value -> one row of the feature's own table: int32 [B]",
    "rows": "a list of categorical values -> rows of a table (of=), 0-padded: int32 [B, max_len], masked",
    "values": "float value(s) [B, size]: dense, projected (dim=) or bucketised (boundaries=) to a row",
}

#: How a table-owning feature op maps raw values to rows.
TABLE_KINDS = {"hashed": "hash buckets (Keras Hashing)", "lookup": "a vocabulary (StringLookup / IntegerLookup)"}


@dataclass(frozen=True)
class Input:
    name: str
    accepts: str
    variadic: bool = False
    optional: bool = False
    doc: str = ""
    mask: str = "none"  # one of MASKS


@dataclass(frozen=True)
class Attention:
    """An op whose layer has attention weights over its keys, for the run report's diagnostics.
    `method` takes the layer's call inputs and mask and returns the weights [B, L];
    `normalize(args)` says whether those weights are "softmax"-normalised or "none"."""

    normalize: Callable[[dict], str]
    method: str = "attention_weights"


@dataclass(frozen=True)
class OpSpec:
    name: str
    family: str  # feature | pool | gate | block | output
    summary: str
    label: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    infer: Callable[[OpContext], Any]
    count: Callable[[OpContext, Any], int]
    layer: str | None = None
    key_args: tuple[str, ...] = ()
    # key_args the diagram shows even at their default: those that define the op's structure (din's units)
    structure_args: tuple[str, ...] = ()
    example: str = ""
    layer_args: tuple[tuple[str, Any], ...] = ()  # fixed constructor arguments, e.g. (("mode", "sum"),)
    head: str | None = None  # output ops: the recdsl.ops.heads.HEADS entry (loss, metrics, label rule)
    feature: str | None = None  # feature ops: one of FEATURE_FORMS
    table: str | None = None  # feature ops that own a table: one of TABLE_KINDS
    attention: Attention | None = None  # ops with attention weights (pools)
    mask_layer: str | None = None  # ops whose output has other positions: the layer computing its mask
    # ops whose layer makes its weights by role (recdsl.layers.shared_weights): {role: shape} for the
    # node's arguments and inputs; `share=` between two such ops shares the roles they have in common
    weights: Callable[[OpContext], dict] | None = None

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def layer_params(self) -> tuple[Param, ...]:
        """The arguments that reach the layer's constructor."""
        return tuple(p for p in self.params if p.to_layer)

    @property
    def slots(self) -> tuple[str, ...]:
        """Names positional arguments fill, in order."""
        return tuple(i.name for i in self.inputs) + tuple(p.name for p in self.params)


REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"op {spec.name!r} registered twice")
    for p in spec.params:
        if p.kind not in ARG_KINDS:
            raise ValueError(f"{spec.name}.{p.name}: unknown argument kind {p.kind!r}")
    for i in spec.inputs:
        if i.accepts not in ACCEPTS:
            raise ValueError(f"{spec.name}.{i.name}: unknown input form {i.accepts!r}")
        if i.mask not in MASKS:
            raise ValueError(f"{spec.name}.{i.name}: unknown mask rule {i.mask!r}")
        if i.accepts in MASKABLE and i.mask == "none":
            raise ValueError(f"{spec.name}.{i.name} accepts {i.accepts!r}, which may be masked: "
                             f"declare what happens to the mask (mask= one of {', '.join(MASKS)})")
    if spec.family == "feature" and spec.feature not in FEATURE_FORMS:
        raise ValueError(f"{spec.name}: a feature op declares feature= one of {', '.join(FEATURE_FORMS)}")
    if spec.table is not None and spec.table not in TABLE_KINDS:
        raise ValueError(f"{spec.name}: unknown table kind {spec.table!r}")
    if spec.family == "output" and spec.head is None:
        raise ValueError(f"{spec.name}: an output op names its head (recdsl.ops.heads)")
    if spec.family != "feature" and spec.layer is None:
        raise ValueError(f"{spec.name}: declare its Keras layer (layer=\"module:Class\")")
    REGISTRY[spec.name] = spec
    return spec
