"""CheckedSpec -> keras.Model: walk the nodes in dependency order, one Keras layer per node.

Model inputs, one per feature, named after it (0 is always padding):
    id, category          int32 [B]        embedding row (row 1 = out-of-vocabulary / missing)
    numeric (bucketised)   int32 [B]        bucket row
    numeric                float32 [B, n]   normalised value(s)
    multi, sequence        int32 [B, L]     rows, oldest first, padded with 0 at the end
Outputs: a dict {output name: [B, 1] float32}; an attention_weights output [B, L] float32.
`share=`: a node of the same op and arguments as its owner is the owner's layer called again; one
that borrows weights by role (across attention ops) has its own layer, given the owner's variables
of those roles (`RoleWeights.borrow`).
Layers carry the spec's names (`layer_name`): a node's layer is named after the node, a
nested call's (checker name `OWNER.OP`) `OWNER-OP`; a feature's own embedding layer is
`NAME-embed` (the input is NAME), its padding mask `NAME-mask` (and the mask layer of a node
that changes positions `NODE-mask`), and the layer joining an input slot's members
`NODE-SLOT`. The separator is "-" because spec names cannot contain it (no clash with a
node) and, unlike ".", the PyTorch backend accepts it: Keras names a layer's torch
parameters by variable path (LAYER/VARIABLE), and torch rejects ".".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from recdsl.checker.spec import CheckedSpec, Node
from recdsl.ops import load
from recdsl.ops.feature_inputs import layer_config
from recdsl.ops.registry import OpSpec
from recdsl.ops.rows import RESERVED_ROWS
from recdsl.ops.types import BagType, SeqType

#: The rank of the tensor an input form gives its layer ([B, n] or [B, F/L, d]); `any` keeps its value's.
#: A value of another rank is joined to it, even alone: one field given to a form of stacked
#: fields is [B, 1, d], never the bare [B, d] (which a layer would read as d rows of one sequence).
FORM_RANKS = {"vector": 2, "query": 2, "fields": 3, "fields_or_sequence": 3, "sequence": 3, "experts": 3}


@dataclass
class Value:
    tensor: object
    mask: object = None


@dataclass
class Call:
    """How a node's layer is called: its tensors in the order of the emit contract, the mask
    it consumes, and the mask its output keeps."""

    tensors: list
    mask: object = None
    keeps: object = None
    single: bool = False

    def apply(self, layer, method=None):
        fn = getattr(layer, method) if method else layer
        x = self.tensors[0] if self.single else self.tensors
        return fn(x, mask=self.mask) if self.mask is not None else fn(x)


@dataclass
class Emitter:
    spec: CheckedSpec
    keras: object = None
    inputs: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)  # node name -> the Call its layer got

    def run(self):
        import keras

        self.keras = keras
        self.registry = load()
        for node in self.spec.nodes:
            if node.kind == "feature":
                self._feature(node, self.registry[node.op])
            elif node.kind != "group":
                self._node(node, self.registry[node.op])
        outputs = {n.name: self.values[n.name].tensor for n in self.spec.outputs}
        model = keras.Model(inputs=self.inputs, outputs=outputs, name=self.spec.name)
        model.input_spec = self._input_spec()
        return model

    def _input_spec(self):
        """The model's input checks, with any length allowed for multi and sequence inputs.

        Their Inputs are declared [B, max_len] (what serving and users feed), but training
        with length buckets feeds batches cut to their longest used length: every layer
        masks padding, so a row scores the same at any padded length. Keras checks inputs
        against their declared shapes, so the length axis is relaxed here (in the emitted
        model; a reloaded model.keras checks the declared shapes again)."""
        from keras.layers import InputSpec

        lists = {n.name for n in self.spec.nodes if n.kind == "feature" and self.registry[n.op].feature == "rows"}
        return [InputSpec(shape=(None, None) if name in lists else (None,) + tuple(self.inputs[name].shape[1:]),
                          allow_last_axis_squeeze=True, name=name)
                for name in sorted(self.inputs)]

    # --- features -------------------------------------------------------------------------

    def _feature(self, node: Node, op: OpSpec) -> None:
        if node.name in self.values:  # looked up with its table's owner (_penalised_together)
            return
        if op.feature == "values":
            ids, layer = self._numeric(node)
            self.inputs[node.name], self.layers[node.name] = ids, layer
            self.values[node.name] = Value(layer(ids))
            return
        owner = self.spec.node(node.shares) if node.share_kind == "table" else node
        if owner.params == 0:  # a table no embedded feature reads is not built (recdsl.checker.unembedded)
            self.inputs[node.name] = self._ids_input(node, op.feature == "rows")
            return
        together = self._penalised_together(node)
        looked_up = []
        for member in together:
            ids, layer, mask = self._embedded(member, self.registry[member.op].feature == "rows")
            self.inputs[member.name], self.layers[member.name] = ids, layer
            looked_up.append((member.name, ids, mask))
        vectors = layer([ids for _, ids, _ in looked_up]) if len(looked_up) > 1 else [layer(looked_up[0][1])]
        for (name, _, mask), vector in zip(looked_up, vectors):
            self.values[name] = Value(vector, mask)

    def _penalised_together(self, node: Node) -> list:
        """The features one call of a table's layer looks up: the owner of a table with l2 > 0 and
        every feature sharing it, so that its mini-batch-aware L2 counts a row the batch uses once
        (recdsl.layers.embedding); any other feature alone."""
        table = node.arg("of") if self.registry[node.op].feature == "rows" else dict(node.args)
        if node.share_kind == "table" or not isinstance(table, dict) or not table.get("l2"):
            return [node]
        return [node] + [n for n in self.spec.nodes if n.kind == "feature" and n.share_kind == "table"
                         and n.shares == node.name]

    def _numeric(self, node: Node):
        from recdsl.layers.embedding import NumericFeature

        k, name = self.keras, feature_layer_name(node.name)
        if node.arg("boundaries") is not None:
            rows = len(node.arg("boundaries")) + 1 + RESERVED_ROWS
            return (k.Input(shape=(), dtype="int32", name=node.name),
                    NumericFeature("bucket", dim=node.type.dim, name=name, rows=rows))
        mode = "project" if node.arg("dim") is not None else "dense"
        return (k.Input(shape=(node.arg("size"),), dtype="float32", name=node.name),
                NumericFeature(mode, size=node.arg("size"), dim=node.arg("dim"), name=name))

    def _ids_input(self, node: Node, rows_list: bool):
        return self.keras.Input(shape=(node.arg("max_len"),) if rows_list else (), dtype="int32", name=node.name)

    def _embedded(self, node: Node, rows_list: bool):
        from recdsl.layers.embedding import FeatureEmbedding
        from recdsl.layers.glue import PaddingMask

        ids = self._ids_input(node, rows_list)
        if node.share_kind == "table":
            layer = self.layers[node.shares]
        else:
            table = node.arg("of") if rows_list else dict(node.args)
            # the checker counted this node's own table as rows * dim (vocab files already read there)
            rows = node.params // table["dim"]
            layer = FeatureEmbedding(rows, table["dim"], l2=table.get("l2", 0.0), init_std=table.get("init_std"),
                                     name=feature_layer_name(node.name))
        mask = PaddingMask(name=f"{node.name}-mask")(ids) if rows_list else None
        return ids, layer, mask

    # --- pools, gates, blocks, outputs --------------------------------------------------

    def _node(self, node: Node, op: OpSpec) -> None:
        layer = self._layer(node, op)
        call = self._call(node, op)
        if getattr(layer, "reads_attention_call", False):  # attention_weights: its source node's layer call
            call = self._attention_call(node, layer)
        self.calls[node.name] = call
        out = call.apply(layer)
        if op.mask_layer is not None:
            from recdsl.layers import load_layer

            call.keeps = call.apply(load_layer(op.mask_layer)(name=f"{layer_name(node.name)}-mask"))
        self.values[node.name] = Value(out, call.keeps if isinstance(node.type, (SeqType, BagType)) else None)

    def _layer(self, node: Node, op: OpSpec):
        from recdsl.layers import load_layer

        if node.share_kind == "weights" and not node.borrows:
            self.layers[node.name] = self.layers[node.shares]  # the owner's layer, called again
            return self.layers[node.name]
        args = dict(node.args)
        kwargs = {p.name: args[p.name] for p in op.layer_params if p.name in args}
        given = dict(node.input_types)
        kwargs.update({slot.name: layer_config(given[slot.name]) for slot in op.inputs
                       if slot.accepts == "features" and slot.name in given})
        layer = load_layer(op.layer)(name=layer_name(node.name), **dict(op.layer_args), **kwargs)
        if node.borrows:  # share= across attention ops: the owner's weights of those roles
            layer.borrow(self.layers[node.shares], node.borrows)
        self.layers[node.name] = layer
        return layer

    def _call(self, node: Node, op: OpSpec) -> Call:
        """The node's slots joined and ordered as the emit contract says (recdsl/ops/registry.py)."""
        tensors, mask, keeps, single = [], None, None, True
        for slot, role in self._slots(op, node):
            bindings = [b for b in node.inputs if b.role == role]
            if not bindings:
                continue
            if slot.accepts == "features":  # model inputs, one tensor per feature, never joined
                tensors.extend(self.inputs[m] for b in bindings for m in self._expand(b.members))
                single = False
                continue
            base = f"{layer_name(node.name)}-{role.replace('.', '_')}"
            values = [self._join(slot.accepts, b.members, f"{base}{i or ''}") for i, b in enumerate(bindings)]
            tensors.extend(v.tensor for v in values)
            single = single and not slot.variadic and len(tensors) == 1
            if slot.mask == "consume" and mask is None:
                mask = values[0].mask
            if slot.mask in ("consume", "keep") and keeps is None:
                keeps = values[0].mask
        return Call(tensors, mask, keeps, single and len(tensors) == 1)

    def _attention_call(self, node: Node, layer) -> Call:
        """[the attention node's output, the tensors its layer got], mask= its mask: how an
        AttentionWeightsOutput is called (recdsl.layers.attention_output)."""
        source = node.inputs[0].members[0]
        tapped = self.calls[source]
        layer.single, layer.method = tapped.single, self.registry[self.spec.node(source).op].attention.method
        return Call([self.values[source].tensor, *tapped.tensors], tapped.mask, single=False)

    def _slots(self, op: OpSpec, node: Node):
        """(Input, binding role) for the op's own slots, then those of nested calls (`gate.by`)."""
        yield from ((slot, slot.name) for slot in op.inputs)
        for param in op.params:
            value = node.arg(param.name)
            if param.kind == "call" and isinstance(value, dict):
                nested = self.registry[value["op"]]
                yield from ((slot, f"{param.name}.{slot.name}") for slot in nested.inputs)

    def _join(self, accepts: str, members, name: str) -> Value:
        from recdsl.layers.glue import FieldJoin
        from recdsl.layers.merge import Merge

        names = self._expand(members)
        values = [self.values[m] for m in names]
        types = [self.spec.node(m).type for m in names]
        is_seq = all(isinstance(t, (SeqType, BagType)) for t in types)
        rank = FORM_RANKS.get(accepts)
        if len(values) == 1 and (rank is None or len(values[0].tensor.shape) == rank):
            return values[0]
        tensors = [v.tensor for v in values]
        if accepts == "vector" or (accepts == "any" and not is_seq):
            return Value(Merge("concat", name=name)(tensors))
        if accepts in ("sequence", "query") or (is_seq and accepts in ("fields_or_sequence", "any")):
            return Value(FieldJoin("join", name=name)(tensors), values[0].mask)
        return Value(FieldJoin("stack", name=name)(tensors))

    def _expand(self, members) -> list[str]:
        out = []
        for m in members:
            node = self.spec.node(m)
            if node.kind == "group":
                out.extend(self._expand(node.inputs[0].members))
            else:
                out.append(m)
        return out


def layer_name(node: str) -> str:
    """The Keras layer name of a pool, gate, block or output node: its spec name, with the "."
    of a nested call's name (`deep.cross`) as "-" (`deep-cross`), which torch accepts."""
    return node.replace(".", "-")


def feature_layer_name(feature: str) -> str:
    """The Keras layer name of a feature's own embedding (or numeric) layer."""
    return f"{feature}-embed"


def layer_params(model, node: Node) -> int:
    """Trainable parameters the built model holds for one node (0 where it shares another's; the
    weights it does not borrow where it borrows some)."""
    if (node.share_kind is not None and not node.borrows) or node.kind == "group":
        return 0
    name = feature_layer_name(node.name) if node.kind == "feature" else layer_name(node.name)
    try:
        layer = model.get_layer(name)
    except ValueError:
        return 0
    lent = {id(w) for w in model.get_layer(layer_name(node.shares)).trainable_weights} if node.borrows else set()
    return sum(math.prod(w.shape) for w in layer.trainable_weights if id(w) not in lent)


def emit(spec: CheckedSpec):
    """The keras.Model of a checked spec (imports Keras)."""
    return Emitter(spec).run()
