"""append and positions in specs: their types and errors, the mask append's output keeps in a built
model (numpy through append -> positions -> sum), a row scoring the same at any padded length, and
positions making a transformer over the history order-sensitive."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import recdsl
from recdsl.lang.errors import SpecErrors

keras = pytest.importorskip("keras")

from recdsl.emitter import emit  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

HEAD = """model m
feature a : id(buckets=30, dim=4)
feature b : id(buckets=30, dim=4)
feature g : multi(category(size=5, dim=8), max_len=3)
feature s : sequence(of=a, max_len=6)
feature t : sequence(of=b, max_len=6)
"""
BST = Path(__file__).resolve().parents[2] / "specs" / "bst.rec"


def check(tmp_path, lines: str, out: str = "sum(x)"):
    path = tmp_path / "s.rec"
    path.write_text(HEAD + lines + f"\noutput y = sigmoid(concat({out}))\n", encoding="utf-8")
    return recdsl.check(path)


def error_of(tmp_path, lines: str):
    with pytest.raises(SpecErrors) as caught:
        check(tmp_path, lines)
    (error,) = [e for e in caught.value.errors if e.severity == "error"]
    return error


@pytest.mark.parametrize("line,shape,params", [
    ("block x = positions(s)", ("B", 6, 4), 6 * 4),
    ("block x = positions([s, t], kind=sinusoidal, mode=concat, dim=6)", ("B", 6, 14), 0),
    ("block x = positions(s, mode=concat, dim=3, order=oldest_first)", ("B", 6, 7), 6 * 3),
    ("block x = positions(s, kind=none, dim=4)", ("B", 6, 4), 0),
    ("block x = append([s, t], [a, b])", ("B", 7, 8), 0),
    ("block x = append(g, mlp(a, units=[8]))", ("B", 4, 8), None),
])
def test_types_and_counts(tmp_path, line, shape, params):
    node = check(tmp_path, line).node("x")
    assert node.type.shape == shape
    if params is not None:
        assert node.params == params


def test_append_keeps_the_kind_of_sequence(tmp_path):
    spec = check(tmp_path, "block x = append(g, mlp(a, units=[8]))\nblock z = append(s, a)", out="sum(x), sum(z)")
    assert type(spec.node("x").type).__name__ == "BagType"
    assert type(spec.node("z").type).__name__ == "SeqType"


@pytest.mark.parametrize("line,message,column", [
    ("block x = positions(g)", "positions needs an ordered sequence, but a multi-valued bag [B, 3, 8] has no order",
     21),
    ("block x = positions(s, mode=concat)", "positions(mode=concat) needs dim=, the width of the position encoding",
     29),
    ("block x = positions(s, dim=3)", "positions(mode=add) keeps the sequence width 4, but dim=3", 28),
    ("block x = append(s, [a, b])", "append needs an item as wide as the sequence's positions: the item is 8 wide, "
                                    "the sequence 4", 21),
])
def test_errors_name_the_argument(tmp_path, line, message, column):
    error = error_of(tmp_path, line)
    assert error.message == message
    assert (error.span.line, error.span.column) == (7, column)


def _ids(rng, rows, length, lengths, high=30):
    ids = rng.integers(2, high, size=(rows, length)).astype("int32")
    ids[np.arange(length)[None, :] >= np.asarray(lengths)[:, None]] = 0
    return ids


def sinusoid(pos, width):
    j = np.arange(width)
    angle = pos[..., None] / 10000.0 ** (2 * (j // 2) / width)
    return np.where(j % 2 == 0, np.sin(angle), np.cos(angle))


def test_the_appended_mask_reaches_the_next_ops(tmp_path):
    """append -> positions(sinusoidal, recent first) -> sum against numpy: the target is the newest
    valid position (pos 0), the history before it, and nothing of the padding is summed."""
    spec = check(tmp_path, "block x = append([s, t], [a, b])\nblock p = positions(x, kind=sinusoidal)\n"
                           "pool z = sum(p)", out="z")
    model = emit(spec)
    lengths = [6, 0, 3, 1, 5]
    rng = np.random.default_rng(0)
    batch = {"s": _ids(rng, 5, 6, lengths), "a": rng.integers(2, 30, 5).astype("int32")}
    batch["t"], batch["b"] = _ids(rng, 5, 6, lengths), rng.integers(2, 30, 5).astype("int32")
    batch["g"] = _ids(rng, 5, 3, [1, 2, 3, 0, 1], high=7)
    probe = keras.Model(model.inputs, model.get_layer("z").output)
    got = keras.ops.convert_to_numpy(probe(batch))
    ta = keras.ops.convert_to_numpy(model.get_layer("a-embed").embeddings).astype("float64")
    tb = keras.ops.convert_to_numpy(model.get_layer("b-embed").embeddings).astype("float64")
    want = []
    for r, n in enumerate(lengths):
        rows = [np.concatenate([ta[batch["s"][r, i]], tb[batch["t"][r, i]]]) for i in range(n)]
        rows.append(np.concatenate([ta[batch["a"][r]], tb[batch["b"][r]]]))
        seq = np.stack(rows)
        want.append((seq + sinusoid(np.arange(n, -1, -1.0), 8)).sum(0))
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-5, atol=1e-6)


def _bst_batch(model, rows, length, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 13, rows)
    lengths[0] = 0
    batch = {}
    for name, tensor in model.input.items():
        if name.startswith("hist_"):
            batch[name] = _ids(rng, rows, length, lengths, high=20)
        elif "int" in str(tensor.dtype):
            batch[name] = rng.integers(2, 3 if name == "gender" else 20, rows).astype("int32")
        else:
            batch[name] = rng.normal(size=(rows, 1)).astype("float32")
    return batch, lengths


def _predict(model, batch):
    return keras.ops.convert_to_numpy(model(batch, training=False)["ctr"])


def test_bst_scores_a_row_the_same_at_any_padded_length():
    """Training with length buckets cuts padding: the BST spec (learned recency positions over the
    appended target) scores every row the same at max_len 20 and cut to 12."""
    keras.config.set_dtype_policy("float32")
    model = emit(recdsl.check(BST))
    batch, _ = _bst_batch(model, 10, 20, seed=1)
    cut = {k: v[:, :12] if k.startswith("hist_") else v for k, v in batch.items()}
    np.testing.assert_allclose(_predict(model, cut), _predict(model, batch), rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", ["learned", "none"])
def test_positions_make_the_history_order_matter(kind, tmp_path):
    """The BST spec's pooled history reads the order of the clicks; with kind=none (its ablation)
    it does not."""
    keras.config.set_dtype_policy("float32")
    path = tmp_path / "bst.rec"
    path.write_text(BST.read_text().replace("kind=learned", f"kind={kind}"), encoding="utf-8")
    model = emit(recdsl.check(path))
    rng = np.random.default_rng(2)
    model.set_weights([rng.normal(size=w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    batch, lengths = _bst_batch(model, 10, 20, seed=3)
    shuffled = {k: v.copy() for k, v in batch.items()}
    for r, n in enumerate(lengths):
        perm = rng.permutation(n)
        for name in ("hist_items", "hist_cates"):
            shuffled[name][r, :n] = batch[name][r, perm]
    probe = keras.Model(model.inputs, model.get_layer("interest").output)  # the pooled encoded history
    diff = np.max(np.abs(keras.ops.convert_to_numpy(probe(shuffled) - probe(batch))))
    assert diff > 1e-3 if kind == "learned" else diff < 1e-5, diff
