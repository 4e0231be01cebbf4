"""Properties of the compiled spec models (float32, inference mode) that hold whatever the weights.

Order of the history. Permuting the valid (non-padded) positions of a row's behaviour
sequences and multi-valued features leaves the predictions unchanged (atol 1e-5) when
every path from a sequence to an output goes through a pooling op that ignores order
(sum / avg / max, DIN, target attention with output="pooled"), possibly after
position-free sequence ops: self-attention and a non-causal transformer have no position
embeddings in recdsl, so they are permutation-equivariant, and pooling their output is
invariant again. Sequences aligned position by position (same max_len, e.g.
hist_items / hist_cates, joined into one key per click) get the same permutation.
The specs where this holds, and why:

    din             hist_items + hist_cates -> DIN pool; genres -> avg
    din_avg         hist_items + hist_cates -> avg; genres -> avg
    attention       hist_items -> target attention; hist_items -> self-attention
                    (no positions) -> attention pool
    dual_attention  hist_cates -> additive attention pool, hist_items -> bilinear pool
    multitask       hist_items -> transformer (causal=false, no positions) -> DIN pool
    dcn             tags -> sum
    traditional     hist_items -> traditional attention (each position scored alone), pooled
    multihead       hist_items -> self-attention (no positions) -> cross-attention keys and avg;
                    shown_items -> cross-attention keys; hist_items as cross-attention queries -> avg
    merged_attention  hist_items -> self-attention -> avg, traditional attention, target attention
    din_fcn         hist_items + hist_cates -> DIN pooled, and DIN weighted sequence -> max
    target_scores   hist_items + hist_cates -> four target attention pools

bst is not order-free: positions() encodes each item's recency before the transformer.

It would fail for a causal transformer (position l sees only positions < l), which is
what `test_a_causal_transformer_is_order_sensitive` checks, so the invariance test is
known to detect order dependence. senet_poso has no sequence input.

Padding. In the model's input convention id 0 IS the padding marker (recdsl/emitter.py),
so "what a padded position holds" at model level is row 0 of the embedding tables:
setting that row to huge values or NaN in every table leaves the predictions unchanged
as long as no scalar id input is 0. (The layer-level version, with explicit masks and
arbitrary stored values, is tests/layers/test_mask_properties.py.)

Rows. Inference is per row: permuting the rows of a batch permutes the predictions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import recdsl  # noqa: E402
from recdsl.emitter import emit, feature_layer_name  # noqa: E402
from recdsl.layers.embedding import FeatureEmbedding, NumericFeature  # noqa: E402

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs"
SPECS = sorted(SPEC_DIR.glob("*.rec"))
#: Specs whose predictions do not depend on the order of the history (see the docstring).
ORDER_FREE = ("din", "din_avg", "attention", "dual_attention", "multitask", "dcn", "traditional", "multihead",
              "merged_attention", "din_fcn", "target_scores")
ROWS = 12
ATOL = 1e-5

CONTROL = """\
model order_probe "a transformer over the history, then an attention pool"
feature item_id    : id(buckets=100, dim=8)
feature hist_items : sequence(of=item_id, max_len=6)
block history = transformer(hist_items, heads=2, layers=1, causal={causal})
pool interest = attention(query=item_id, keys=history, score=scaled_dot)
block deep = mlp([item_id, interest], units=[8])
output ctr = sigmoid(deep)
"""


def table_rows(spec, model, feature) -> int:
    """Rows of the embedding table (or bucket table) an int input looks up."""
    node = spec.node(feature)
    owner = node.shares if node.share_kind == "table" else node.name
    return model.get_layer(feature_layer_name(owner)).rows


def sample_inputs(spec, model, rows: int, seed: int):
    """(inputs, lengths): random inputs with every id >= 1 outside the padding.

    Sequence / multi inputs with the same max_len share each row's valid length (they
    describe the same positions); rows 0 and 1 are fully padded, row 2 is full. Ids
    are drawn from up to 50 distinct rows, so a permutation really moves values."""
    r = np.random.default_rng(seed)
    bags = {n.name for n in spec.nodes if n.op in ("multi", "sequence")}
    lengths, batch = {}, {}
    for name, tensor in model.input.items():
        shape = (rows,) + tuple(tensor.shape[1:])
        if "int" not in str(tensor.dtype):
            batch[name] = r.normal(size=shape).astype("float32")
            continue
        ids = r.integers(1, min(table_rows(spec, model, name), 50), size=shape)
        if name in bags:
            length = shape[1]
            if length not in lengths:
                n = r.integers(1, length + 1, size=rows)
                n[:2], n[2] = 0, length
                lengths[length] = n
            ids[np.arange(length)[None, :] >= lengths[length][:, None]] = 0
        batch[name] = ids.astype("int32")
    return batch, lengths


def permute_history(spec, batch, lengths, seed: int) -> dict:
    """The batch with each row's valid positions permuted, one permutation per row and
    max_len shared by the aligned inputs of that length."""
    r = np.random.default_rng(seed)
    bags = [n.name for n in spec.nodes if n.op in ("multi", "sequence")]
    out = {k: v.copy() for k, v in batch.items()}
    for length, counts in lengths.items():
        for row, n in enumerate(counts):
            perm = r.permutation(n)
            for name in bags:
                if batch[name].shape[1] == length:
                    out[name][row, :n] = batch[name][row, perm]
    return out


def predict(model, batch) -> dict:
    return {k: keras.ops.convert_to_numpy(v) for k, v in model(batch, training=False).items()}


def assert_same(got: dict, want: dict, atol=ATOL):
    assert set(got) == set(want)
    for name in want:
        assert np.all(np.isfinite(got[name])), name
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=atol, err_msg=name)


@pytest.fixture(scope="module", params=SPECS, ids=lambda p: p.stem)
def compiled(request):
    keras.config.set_dtype_policy("float32")
    spec = recdsl.typecheck(request.param)
    return request.param.stem, spec, emit(spec)


def test_predictions_ignore_the_order_of_the_history(compiled):
    stem, spec, model = compiled
    if stem not in ORDER_FREE:
        pytest.skip(f"{stem}: no sequence input, or one that reaches an output order-sensitively")
    batch, lengths = sample_inputs(spec, model, ROWS, seed=1)
    assert lengths, f"{stem} has no sequence or multi-valued input"
    base = predict(model, batch)
    for seed in (2, 3):
        shuffled = permute_history(spec, batch, lengths, seed)
        moved = sum(int(np.any(shuffled[k] != batch[k])) for k in batch)
        assert moved, "the permutation changed nothing"
        assert_same(predict(model, shuffled), base)


@pytest.mark.parametrize("stored", [1e4, np.nan], ids=["huge", "nan"])
def test_predictions_ignore_the_padding_row_of_every_table(compiled, stored):
    """Row 0 of every table is what padded positions look up; nothing of it reaches an output."""
    _, spec, model = compiled
    batch, _ = sample_inputs(spec, model, ROWS, seed=4)
    base = predict(model, batch)
    tables = [layer for layer in model.layers
              if isinstance(layer, FeatureEmbedding) or (isinstance(layer, NumericFeature) and layer.mode == "bucket")]
    saved = [keras.ops.convert_to_numpy(t.embeddings) for t in tables]
    r = np.random.default_rng(5)
    try:
        for table, value in zip(tables, saved):
            junk = value.copy()
            junk[0] = stored * (1.0 + r.random(value.shape[1]))
            table.embeddings.assign(junk)
        assert_same(predict(model, batch), base)
    finally:
        for table, value in zip(tables, saved):
            table.embeddings.assign(value)


def test_rows_are_independent(compiled):
    _, spec, model = compiled
    batch, _ = sample_inputs(spec, model, ROWS, seed=6)
    base = predict(model, batch)
    order = np.random.default_rng(7).permutation(ROWS)
    shuffled = predict(model, {k: v[order] for k, v in batch.items()})
    assert_same(shuffled, {k: v[order] for k, v in base.items()})
    single = predict(model, {k: v[3:4] for k, v in batch.items()})
    assert_same(single, {k: v[3:4] for k, v in base.items()})


@pytest.mark.parametrize("causal", [False, True])
def test_a_causal_transformer_is_order_sensitive(causal, tmp_path):
    """The control: the same model is order-free with causal=false, not with causal=true."""
    path = tmp_path / "order_probe.rec"
    path.write_text(CONTROL.format(causal=str(causal).lower()))
    keras.config.set_dtype_policy("float32")
    spec = recdsl.typecheck(path)
    model = emit(spec)
    # larger weights so that the attention is far from uniform
    r = np.random.default_rng(8)
    model.set_weights([r.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    batch, lengths = sample_inputs(spec, model, ROWS, seed=9)
    base = predict(model, batch)
    shuffled = predict(model, permute_history(spec, batch, lengths, seed=10))
    diff = max(np.max(np.abs(shuffled[k] - base[k])) for k in base)
    if causal:
        assert diff > 1e-3, diff
    else:
        assert diff <= ATOL, diff
