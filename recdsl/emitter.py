"""CheckedSpec -> keras.Model: walk the nodes in dependency order, one Keras layer per node.

Model inputs, one per feature, named after it (0 is always padding):
    id, category          int32 [B]        embedding row (row 1 = out-of-vocabulary / missing)
    numeric (bucketised)   int32 [B]        bucket row
    numeric                float32 [B, n]   normalised value(s)
    multi, sequence        int32 [B, L]     rows, oldest first, padded with 0 at the end
Outputs: a dict {output name: [B, 1] float32}.
Layers carry the spec's names (`layer_name`): a node's layer is named after the node, a
nested call's (checker name `OWNER.OP`) `OWNER-OP`; a feature's own embedding layer is
`NAME-embed` (the input is NAME), its padding mask `NAME-mask`, and the layer joining an
input slot's members `NODE-SLOT`. The separator is "-" because spec names cannot contain
it (no clash with a node) and, unlike ".", the PyTorch backend accepts it: Keras names a
layer's torch parameters by variable path (LAYER/VARIABLE), and torch rejects ".".
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

from recdsl.ops.features import RESERVED_ROWS
from recdsl.ops.registry import load
from recdsl.checker.spec import CheckedSpec, Node
from recdsl.ops.types import BagType, SeqType

# Arguments that configure the spec, not the layer.
NOT_LAYER_ARGS = {"share", "weight", "label", "sep", "column", "of", "max_len", "vocab", "vocab_file",
                  "size", "max_tokens", "buckets", "boundaries"}


@dataclass
class Value:
    tensor: object
    mask: object = None


@dataclass
class Emitter:
    spec: CheckedSpec
    keras: object = None
    inputs: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)

    def run(self):
        import keras

        self.keras = keras
        self.registry = load()
        for node in self.spec.nodes:
            if node.kind == "feature":
                self._feature(node)
            elif node.kind != "group":
                self._node(node)
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

        sequences = {n.name for n in self.spec.nodes if n.kind == "feature" and n.op in ("multi", "sequence")}
        return [InputSpec(shape=(None, None) if name in sequences else (None,) + tuple(self.inputs[name].shape[1:]),
                          allow_last_axis_squeeze=True, name=name)
                for name in sorted(self.inputs)]

    # --- features -------------------------------------------------------------------------

    def _feature(self, node: Node) -> None:
        from recdsl.layers.embedding import FeatureEmbedding, NumericFeature
        from recdsl.layers.glue import PaddingMask

        k = self.keras
        if node.op == "numeric":
            bucketised = node.arg("boundaries") is not None
            if bucketised:
                ids = k.Input(shape=(), dtype="int32", name=node.name)
                layer = NumericFeature("bucket", dim=node.type.dim, name=feature_layer_name(node.name),
                                       rows=len(node.arg("boundaries")) + 1 + RESERVED_ROWS)
            else:
                ids = k.Input(shape=(node.arg("size"),), dtype="float32", name=node.name)
                mode = "project" if node.arg("dim") is not None else "dense"
                layer = NumericFeature(mode, size=node.arg("size"), dim=node.arg("dim"),
                                       name=feature_layer_name(node.name))
            self.inputs[node.name] = ids
            self.values[node.name] = Value(layer(ids))
            self.layers[node.name] = layer
            return
        sequence = node.op in ("multi", "sequence")
        ids = k.Input(shape=(node.arg("max_len"),) if sequence else (), dtype="int32", name=node.name)
        self.inputs[node.name] = ids
        if node.share_kind == "table":
            layer = self.layers[node.shares]
        else:
            table = node.arg("of") if sequence else dict(node.args)
            # the checker counted this node's own table as rows * dim (vocab files already read there)
            rows = node.params // table["dim"]
            layer = FeatureEmbedding(rows, table["dim"], l2=table.get("l2", 0.0), name=feature_layer_name(node.name))
        self.layers[node.name] = layer
        mask = PaddingMask(name=f"{node.name}-mask")(ids) if sequence else None
        self.values[node.name] = Value(layer(ids), mask)

    # --- pools, gates, blocks, outputs --------------------------------------------------

    def _node(self, node: Node) -> None:
        from recdsl.layers import load_layer

        op = self.registry[node.op]
        layer = self._layer(node, load_layer(op.layer))
        slots = {}
        for slot in op.inputs:
            bindings = [b for b in node.inputs if b.role == slot.name]
            if not bindings:
                continue
            joined = [self._join(node, slot.accepts, b.members, f"{layer_name(node.name)}-{slot.name}{i or ''}")
                      for i, b in enumerate(bindings)]
            slots[slot.name] = joined if slot.variadic else joined[0]
        gate = [b for b in node.inputs if b.role == "gate.by"]
        if gate:
            slots["gate.by"] = self._join(node, "vector", gate[0].members, f"{layer_name(node.name)}-gate_by")
        self.values[node.name] = self._call(node, layer, slots)

    def _layer(self, node: Node, cls):
        if node.share_kind == "weights":
            return self.layers[node.shares]
        accepted = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in node.args if k in accepted and k not in NOT_LAYER_ARGS}
        if "mode" in accepted:
            kwargs["mode"] = node.op
        if "kind" in accepted:
            kwargs["kind"] = node.op
        layer = cls(name=layer_name(node.name), **kwargs)
        self.layers[node.name] = layer
        return layer

    def _call(self, node: Node, layer, slots) -> Value:
        op = node.op
        if op in ("sum", "avg", "max"):
            x = slots["x"]
            return Value(layer(x.tensor, mask=x.mask))
        if op in ("din", "attention"):
            q, keys = slots["query"], slots["keys"]
            parts = [q.tensor, keys.tensor] + ([slots["values"].tensor] if "values" in slots else [])
            out = layer(parts, mask=keys.mask)
            return Value(out, keys.mask if isinstance(node.type, SeqType) else None)
        if op in ("self_attention", "transformer"):
            x = slots["x"]
            out = layer(x.tensor, mask=x.mask) if x.mask is not None else layer(x.tensor)
            return Value(out, x.mask)
        if op == "poso":
            return Value(layer([slots["x"].tensor, slots["by"].tensor]))
        if op == "mlp" and "gate.by" in slots:
            return Value(layer([slots["x"].tensor, slots["gate.by"].tensor]))
        if op in ("concat", "add", "multiply"):
            xs = slots["x"]
            return Value(layer([v.tensor for v in xs]), xs[0].mask if op != "concat" else None)
        first = self.registry[op].inputs[0].name
        return Value(layer(slots[first].tensor))

    def _join(self, node: Node, accepts: str, members, name: str) -> Value:
        from recdsl.layers.glue import FieldJoin
        from recdsl.layers.merge import Merge

        names = self._expand(members)
        values = [self.values[m] for m in names]
        types = [self.spec.node(m).type for m in names]
        is_seq = all(isinstance(t, (SeqType, BagType)) for t in types)
        if len(values) == 1 and (accepts != "fields" or len(values[0].tensor.shape) == 3) \
                and not (accepts == "vector" and len(values[0].tensor.shape) != 2):
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
    """Trainable parameters the built model holds for one node (0 where it shares another's)."""
    if node.share_kind is not None or node.kind == "group":
        return 0
    name = feature_layer_name(node.name) if node.kind == "feature" else layer_name(node.name)
    try:
        layer = model.get_layer(name)
    except ValueError:
        return 0
    return sum(math.prod(w.shape) for w in layer.trainable_weights)


def emit(spec: CheckedSpec):
    """The keras.Model of a checked spec (imports Keras)."""
    return Emitter(spec).run()
