"""A hand-written Keras 3 reference of the MovieLens DIN model (examples/movielens/din.rec),
the yardstick bench/throughput.py holds recdsl's compiled model against.

It is what an engineer would write by hand for that spec, with nothing from recdsl:

    categorical fields     keras.layers.Embedding(rows, dim), one table per feature; the
                           behaviour sequences reuse the candidate's tables (hist_item_id ->
                           item_id's table, hist_genre -> item_genre's); where the spec gives
                           a table l2=, DIN's mini-batch aware L2 (eq. 4) on the rows each
                           lookup uses (L2Embedding)
    multi-valued genres    masked average of their embeddings (0 = padding)
    DIN attention          query q = [item_id, item_genre] [B, 2d], keys k = [hist_item_id,
                           hist_genre] [B, L, 2d]; the textbook local activation unit:
                           concat [q, k, q - k, q * k] [B, L, 8d] -> Dense(80) -> Dice ->
                           Dense(40) -> Dice -> Dense(1); padded positions masked (weight 0,
                           unnormalised as in the DIN paper, or a masked softmax when the
                           spec says normalize=softmax); sum of weighted keys over positions
    deep tower             concat of every field -> Dense 256-128-64 with the spec's activation
                           (relu, PReLU or Dice) -> Dense(1, sigmoid) in float32 (also under
                           mixed precision)

Dice is the DIN paper's (eq. 5): p = sigmoid(BN(x)), out = p x + (1 - p) alpha x, with
BatchNormalization(center=False, scale=False); the attention mask is passed to the BN so
padded positions stay out of its batch statistics (the same function the spec describes;
DeepCTR's Dice skips the mask).

Sizes are not hard-coded: `config_from_spec` reads them from the checked spec (table rows
= the spec's parameters / dim, so a learned vocabulary of max_tokens=1000 has 1,002 rows:
padding and OOV; the attention and MLP units and activations; dropout), and refuses a spec
whose structure this reference does not implement (`Unsupported`), so the architecture
compared is always the spec's. Inputs and the output carry the spec's names, so the same
batches feed both models. Trainable parameter counts equal recdsl's (`recdsl check`).

    python bench/reference_din.py [SPEC]   # builds it next to recdsl's model, prints both parameter
                                           # counts, copies recdsl's weights into it and prints the
                                           # largest output difference (inference and training mode)
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import ops

MASK_LOGIT = -3.0e4  # finite in float16 and bfloat16


class Unsupported(ValueError):
    """The spec uses something this hand-written reference does not implement."""


# ---------------------------------------------------------------------------- layers

class _TakesMask:
    """The mask is an explicit argument; outputs carry none (and Keras does not warn)."""

    def compute_mask(self, inputs, previous_mask=None):
        return None


class Dice(_TakesMask, keras.layers.Layer):
    """DIN's data-adaptive activation: p = sigmoid(BN(x)); p * x + (1 - p) * alpha * x."""

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.bn = keras.layers.BatchNormalization(axis=-1, center=False, scale=False, epsilon=epsilon,
                                                  dtype=self.dtype_policy)

    def build(self, input_shape):
        self.bn.build(input_shape)
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],), initializer="zeros")

    def call(self, x, mask=None, training=None):
        p = ops.sigmoid(ops.cast(self.bn(x, training=training, mask=mask), x.dtype))
        return p * x + (1.0 - p) * self.alpha * x


class PReLU(keras.layers.Layer):
    """max(x, 0) + alpha * min(x, 0), one alpha per unit (shared over positions)."""

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(input_shape[-1],), initializer="zeros")

    def call(self, x):
        return ops.relu(x) + self.alpha * ops.minimum(x, 0.0)


class L2Embedding(keras.layers.Embedding):
    """keras.layers.Embedding plus DIN's mini-batch aware L2 regulariser (eq. 4, every row
    frequency 1): each lookup adds l2 * sum of ||E_j||^2 over the distinct rows j != 0 it
    uses (not the whole table, as embeddings_regularizer would). Used where the spec gives
    a table l2 > 0; plain keras.layers.Embedding otherwise."""

    def __init__(self, input_dim, output_dim, l2=0.0, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        self.l2 = l2

    def call(self, inputs):
        ids = ops.reshape(ops.cast(inputs, "int32"), (-1,))
        hits = ops.segment_sum(ops.ones_like(ids, dtype="float32"), ids, num_segments=self.input_dim)
        norms = ops.sum(ops.square(ops.cast(self.embeddings, "float32")), axis=-1)
        self.add_loss(self.l2 * ops.sum((ops.minimum(hits, 1.0) * norms)[1:]))  # row 0 = padding
        return super().call(inputs)


def _activation(name):
    if name == "dice":
        return Dice()
    if name == "prelu":
        return PReLU()
    return keras.layers.Activation(name)


class DinAttention(_TakesMask, keras.layers.Layer):
    """Local activation unit over the concatenation [q, k, q - k, q * k], masked, summed."""

    def __init__(self, units=(80, 40), activation="dice", normalize="none", **kwargs):
        super().__init__(**kwargs)
        self.dense = [keras.layers.Dense(u) for u in units]
        self.act = [_activation(activation) for _ in units]
        self.score = keras.layers.Dense(1)
        self.normalize = normalize

    def call(self, query, keys, mask, training=None):
        q = ops.repeat(ops.expand_dims(query, 1), keys.shape[1], axis=1)     # [B, L, d]
        h = ops.concatenate([q, keys, q - keys, q * keys], axis=-1)           # [B, L, 4d]
        for dense, act in zip(self.dense, self.act):
            h = dense(h)
            h = act(h, mask=mask, training=training) if isinstance(act, Dice) else act(h)
        logits = ops.squeeze(self.score(h), -1)                               # [B, L]
        if self.normalize == "softmax":
            w = ops.softmax(ops.where(mask, logits, MASK_LOGIT), axis=-1)
            w = ops.where(mask, w, 0.0)
        else:
            w = ops.where(mask, logits, 0.0)
        return ops.sum(ops.expand_dims(w, -1) * keys, axis=1)                 # [B, d]


class MaskedPool(_TakesMask, keras.layers.Layer):
    """Average (or sum) of the embeddings of a padded id list [B, L, d] -> [B, d]."""

    def __init__(self, mode="avg", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, x, mask):
        m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        total = ops.sum(x * m, axis=1)
        return total if self.mode == "sum" else total / ops.maximum(ops.sum(m, axis=1), 1.0)


# ---------------------------------------------------------------------------- config

@dataclass(frozen=True)
class DinConfig:
    """What the hand-written model needs to know; read from the spec by `config_from_spec`."""

    tables: dict          # table-owning feature -> (rows, dim, l2)
    scalars: tuple        # id/category features fed as [B] ids (each looks up its own table)
    lists: dict           # multi/sequence feature -> (table-owning feature, max_len)
    pools: dict           # pool name -> (mode avg|sum, multi feature)
    query: tuple          # din query features
    keys: tuple           # din key sequences (their first one gives the mask)
    din_name: str
    din_units: tuple
    din_activation: str
    din_normalize: str
    tower: tuple          # the MLP's input members in order (features, pools, the din pool)
    mlp_units: tuple
    mlp_activation: str
    mlp_dropout: float
    output: str


SUPPORTED = {"feature": {"id", "category", "multi", "sequence"}, "group": {"group"},
             "pool": {"avg", "sum", "din"}, "block": {"mlp"}, "output": {"sigmoid"}}


def config_from_spec(spec) -> DinConfig:
    """The reference's sizes from a checked spec; Unsupported names what does not fit."""
    for n in spec.nodes:
        if n.op not in SUPPORTED.get(n.kind, ()):
            raise Unsupported(f"{n.name}: {n.kind} {n.op} is not in the hand-written DIN reference")
        if n.share_kind == "weights":
            raise Unsupported(f"{n.name}: shared weights are not in the reference")
    by_op = lambda op: [n for n in spec.nodes if n.op == op]  # noqa: E731
    dins, mlps, outs = by_op("din"), by_op("mlp"), spec.outputs
    if len(dins) != 1 or len(mlps) != 1 or len(outs) != 1:
        raise Unsupported("the reference has exactly one din pool, one mlp and one sigmoid output")
    din, mlp, out = dins[0], mlps[0], outs[0]
    if din.arg("output") != "pooled":
        raise Unsupported("the reference's din pools the sequence (output=pooled)")
    if mlp.arg("norm") != "none" or mlp.arg("gate") is not None:
        raise Unsupported("the reference's mlp has no norm and no gate")
    if [m for b in out.inputs for m in b.members] != [mlp.name]:
        raise Unsupported("the reference's output reads the mlp alone")

    def expand(names):
        found = []
        for m in names:
            node = spec.node(m)
            found += expand(node.inputs[0].members) if node.kind == "group" else [m]
        return found

    tables, scalars, lists, pools = {}, [], {}, {}
    for n in spec.nodes:
        if n.kind != "feature":
            continue
        if n.op in ("id", "category"):
            dim = n.arg("dim")
            tables[n.name] = (n.params // dim, dim, float(n.arg("l2") or 0.0))
            scalars.append(n.name)
        elif n.op == "multi":
            table = n.arg("of")
            tables[n.name] = (n.params // table["dim"], table["dim"], float(table.get("l2") or 0.0))
            lists[n.name] = (n.name, n.arg("max_len"))
        else:  # sequence(of=feature): that feature's table
            lists[n.name] = (n.shares, n.arg("max_len"))
    for n in spec.nodes:
        if n.op in ("avg", "sum"):
            (x,) = n.inputs[0].members
            if x not in lists:
                raise Unsupported(f"{n.name}: the reference pools id lists only")
            pools[n.name] = (n.op, x)
    roles = {b.role: expand(b.members) for b in din.inputs}
    tower = expand([m for b in mlp.inputs for m in b.members])
    for m in tower:
        if m not in scalars and m not in pools and m != din.name:
            raise Unsupported(f"{mlp.name}: input {m} is not an embedded field or a pool")
    return DinConfig(tables=tables, scalars=tuple(scalars), lists=lists, pools=pools,
                     query=tuple(roles["query"]), keys=tuple(roles["keys"]), din_name=din.name,
                     din_units=tuple(din.arg("units")), din_activation=din.arg("activation"),
                     din_normalize=din.arg("normalize"), tower=tuple(tower),
                     mlp_units=tuple(mlp.arg("units")), mlp_activation=mlp.arg("activation"),
                     mlp_dropout=float(mlp.arg("dropout")), output=out.name)


# ---------------------------------------------------------------------------- model

def build_reference(cfg: DinConfig, name: str = "reference_din") -> keras.Model:
    """The hand-written model; inputs and the output are named as the spec's."""
    tables = {f: (L2Embedding(rows, dim, l2, name=f"{f}_table") if l2 else
                  keras.layers.Embedding(rows, dim, name=f"{f}_table"))
              for f, (rows, dim, l2) in cfg.tables.items()}
    inputs, vec = {}, {}
    for f in cfg.scalars:
        inputs[f] = keras.Input(shape=(), dtype="int32", name=f)
        vec[f] = tables[f](inputs[f])                                  # [B, d]
    seq, mask = {}, {}
    for f, (table, max_len) in cfg.lists.items():
        inputs[f] = keras.Input(shape=(max_len,), dtype="int32", name=f)
        seq[f] = tables[table](inputs[f])                              # [B, L, d]
        mask[f] = ops.not_equal(inputs[f], 0)                          # [B, L]
    for p, (mode, f) in cfg.pools.items():
        vec[p] = MaskedPool(mode, name=p)(seq[f], mask=mask[f])

    join = lambda xs: xs[0] if len(xs) == 1 else keras.layers.Concatenate()(xs)  # noqa: E731
    query = join([vec[f] for f in cfg.query])                          # [B, 2d]
    keys = join([seq[f] for f in cfg.keys])                            # [B, L, 2d]
    vec[cfg.din_name] = DinAttention(cfg.din_units, cfg.din_activation, cfg.din_normalize,
                                     name=cfg.din_name)(query, keys, mask=mask[cfg.keys[0]])

    x = join([vec[m] for m in cfg.tower])
    for units in cfg.mlp_units:
        x = keras.layers.Dense(units)(x)
        x = _activation(cfg.mlp_activation)(x)
        if cfg.mlp_dropout:
            x = keras.layers.Dropout(cfg.mlp_dropout)(x)
    y = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name=cfg.output)(x)
    return keras.Model(inputs=inputs, outputs={cfg.output: y}, name=name)


def trainable_params(model) -> int:
    return int(sum(int(ops.size(w)) for w in model.trainable_weights))


def _copy_activations(src, dst) -> None:
    for a, b in zip(src, dst):
        if isinstance(b, Dice):
            norm = getattr(a, "norm", a)  # recdsl's Dice: a BatchNormalization `norm`, or its own moments
            b.alpha.assign(ops.convert_to_numpy(a.alpha))
            b.bn.moving_mean.assign(ops.convert_to_numpy(norm.moving_mean))
            b.bn.moving_variance.assign(ops.convert_to_numpy(norm.moving_variance))
        elif isinstance(b, PReLU):
            b.alpha.assign(ops.convert_to_numpy(a.alpha))


def copy_weights_from_recdsl(ref, model, cfg: DinConfig) -> None:
    """Load a recdsl model's weights into the reference (same function, other layout): used to
    check that both compute the same outputs."""
    for f in cfg.tables:
        ref.get_layer(f"{f}_table").embeddings.assign(ops.convert_to_numpy(model.get_layer(f"{f}-embed").embeddings))
    src, dst = model.get_layer(cfg.din_name), ref.get_layer(cfg.din_name)
    dst.dense[0].set_weights([ops.convert_to_numpy(src.kernel), ops.convert_to_numpy(src.bias)])
    for a, b in zip(src.hidden, dst.dense[1:]):
        b.set_weights(a.get_weights())
    _copy_activations(src.activations, dst.act)
    dst.score.set_weights(src.score.get_weights())
    tower = model.get_layer([n.name for n in model.layers if type(n).__name__ == "MLPBlock"][0])
    dense = [layer for layer in ref.layers if isinstance(layer, keras.layers.Dense) and layer.name != cfg.output]
    for a, b in zip(tower.dense, dense):
        b.set_weights(a.get_weights())
    _copy_activations(tower.activations, [layer for layer in ref.layers if isinstance(layer, (Dice, PReLU))])
    ref.get_layer(cfg.output).set_weights(model.get_layer(cfg.output).logit.get_weights())


if __name__ == "__main__":
    import sys

    import numpy as np

    import recdsl
    from recdsl.emitter import emit

    path = sys.argv[1] if len(sys.argv) > 1 else "examples/movielens/din.rec"
    spec = recdsl.typecheck(path)
    cfg = config_from_spec(spec)
    ref, model = build_reference(cfg), emit(spec)
    print(f"{path}: reference {trainable_params(ref):,} trainable parameters; recdsl "
          f"{trainable_params(model):,}; spec {spec.total_params:,}")
    rng = np.random.default_rng(0)
    for w in model.weights:  # away from the initial values (zero alphas and biases, unit variances)
        if "row_frequency" not in w.path:
            value = rng.normal(0.0, 0.3, tuple(w.shape))
            w.assign((np.abs(value) + 0.5 if "variance" in w.path else value).astype("float32"))
    copy_weights_from_recdsl(ref, model, cfg)
    x = {}
    for name, t in model.input.items():
        table, rows = (cfg.lists[name][0] if name in cfg.lists else name), None
        rows = cfg.tables[table][0]
        if name in cfg.lists:
            ids = rng.integers(2, rows, (256, t.shape[1]))
            ids[np.arange(t.shape[1])[None] >= rng.integers(1, t.shape[1] + 1, 256)[:, None]] = 0
        else:
            ids = rng.integers(2, rows, 256)
        x[name] = ids.astype("int32")
    a, b = model.predict_on_batch(x)[cfg.output], ref.predict_on_batch(x)[cfg.output]
    print(f"same (random) weights, 256 random rows: max |recdsl - reference| = {np.abs(a - b).max():.2e} "
          "(inference)", end="")
    try:
        a = ops.convert_to_numpy(model(x, training=True)[cfg.output])
    except Exception as exc:  # report, do not hide: recdsl's model failed in training mode
        print(f"; training mode: recdsl failed: {type(exc).__name__}: {exc}")
        sys.exit(1)
    loss_a = float(sum(ops.convert_to_numpy(v) for v in model.losses)) if model.losses else 0.0
    b = ops.convert_to_numpy(ref(x, training=True)[cfg.output])
    loss_b = float(sum(ops.convert_to_numpy(v) for v in ref.losses)) if ref.losses else 0.0
    print(f", {np.abs(a - b).max():.2e} (training mode: batch moments in Dice); "
          f"regularisation loss recdsl {loss_a:.6g}, reference {loss_b:.6g}")
