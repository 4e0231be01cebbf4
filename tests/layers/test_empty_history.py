"""What an all-padding history gives, for every attention op: exactly zeros (no NaN, no uniform
average), whatever the padded positions hold, for a whole all-padding batch and for one empty
row beside full ones (whose outputs stay finite and non-zero). Documented in docs/language.md
("The articles as specs")."""
import numpy as np
import pytest

from recdsl.layers.attention import TargetAttention
from recdsl.layers.cross_attention import CrossAttention
from recdsl.layers.din import DinAttention
from recdsl.layers.interest_evolution import InterestEvolution
from recdsl.layers.self_attention import SelfAttention
from recdsl.layers.traditional_attention import TraditionalAttention
from recdsl.ops import load

from .layer_check import randomize, rng, to_numpy

B, L, D = 4, 5, 4

# op -> [(case, factory, how it is called: "x" | "qk" | "cross")]
CASES = {
    "din": [("none", lambda: DinAttention(units=[5, 3]), "qk"),
            ("softmax_sequence", lambda: DinAttention(units=[4], activation="prelu", normalize="softmax",
                                                      output="sequence"), "qk")],
    "attention": [(score, lambda score=score: TargetAttention(score=score, units=3), "qk")
                  for score in ("dot", "scaled_dot", "bilinear", "additive")],
    "traditional_attention": [("pooled", lambda: TraditionalAttention(units=3), "x"),
                              ("sequence", lambda: TraditionalAttention(units=3, output="sequence"), "x")],
    "self_attention": [("autoint", lambda: SelfAttention(heads=2, layers=2), "x"),
                       ("standard", lambda: SelfAttention(style="standard", heads=2), "x"),
                       ("plain", lambda: SelfAttention(style="standard", project=False, heads=1), "x")],
    "cross_attention": [("standard", lambda: CrossAttention(heads=2), "cross")],
    "augru": [(variant, lambda variant=variant: InterestEvolution(variant=variant, att_units=[4]), "qk")
              for variant in ("augru", "agru", "aigru")],
}
RUNS = [(op, case, make, kind) for op, cases in CASES.items() for case, make, kind in cases]


def test_every_attention_op_is_covered():
    attention_ops = {name for name, op in load().items() if op.attention is not None or op.weights is not None}
    assert attention_ops == set(CASES)


def call(layer, kind, q, k, mask):
    if kind == "x":
        return to_numpy(layer(k, mask=mask))
    if kind == "qk":
        return to_numpy(layer([q, k], mask=mask))
    return to_numpy(layer([q[:, None, :], k], mask=mask))


@pytest.mark.parametrize("op, case, make, kind", RUNS, ids=[f"{r[0]}-{r[1]}" for r in RUNS])
@pytest.mark.parametrize("junk", [0.0, np.nan, np.inf, 1e4])
def test_an_all_padding_history_gives_zeros(op, case, make, kind, junk):
    r = rng(1)
    q, k = r.normal(size=(B, D)).astype("float32"), r.normal(size=(B, L, D)).astype("float32")
    mask = np.ones((B, L), bool)
    mask[1] = False                                     # one empty row beside full ones
    layer = make()
    call(layer, kind, q, k, mask)
    randomize(layer, 2)                                 # biases away from zero: zeros are not by accident
    stored = np.where(mask[..., None], k, np.float32(junk)).astype("float32")
    out = call(layer, kind, q, stored, mask)
    assert np.all(np.isfinite(out))
    assert np.all(out[1] == 0.0)
    assert np.abs(out[0]).max() > 0
    empty = call(layer, kind, q, np.full_like(k, junk), np.zeros((B, L), bool))   # a whole empty batch
    assert np.all(empty == 0.0)
