"""Type and shape inference for every op, and parameter counts checked against formulas written
out by hand here (never against the registry's own count rules)."""
from __future__ import annotations

from pathlib import Path

import pytest

import recdsl
from recdsl.ops import load
from recdsl.ops.types import shape_text, to_json

SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.rec"))

# a, b: 8-wide fields; c: a 4-wide field; n: a dense value; s, s8: sequences of a (8 wide);
# s4: a sequence of c (4 wide); g: a bag of its own ids.
PRELUDE = (
    "model m\n"
    "feature a  : id(buckets=10, dim=8)\n"
    'feature b  : category(vocab=["x", "y", "z"], dim=8)\n'
    "feature c  : category(size=5, dim=4)\n"
    "feature n  : numeric()\n"
    "feature s  : sequence(of=a, max_len=5)\n"
    "feature s8 : sequence(of=b, max_len=5)\n"
    "feature s4 : sequence(of=c, max_len=5)\n"
    "feature g  : multi(id(buckets=7, dim=8), max_len=3)\n"
    "output out = sigmoid(a)\n"
)


def checked(tmp_path: Path, body: str = "", prelude: str = PRELUDE):
    path = tmp_path / "spec.rec"
    path.write_text(prelude + body)
    return recdsl.typecheck(path)


def node(tmp_path: Path, body: str, name: str):
    return checked(tmp_path, body).node(name)


# --- shapes -------------------------------------------------------------------------------

SHAPES = [
    # features
    ("feature x : id(buckets=10, dim=4)", "x", "[B, 4]", "field"),
    ("feature x : id(buckets=10)", "x", "[B, 16]", "field"),
    ('feature x : category(vocab=["M", "F"], dim=3)', "x", "[B, 3]", "field"),
    ("feature x : category(max_tokens=1_000, dim=6)", "x", "[B, 6]", "field"),
    ("feature x : numeric()", "x", "[B, 1]", "dense"),
    ("feature x : numeric(size=3, normalize=standard)", "x", "[B, 3]", "dense"),
    ("feature x : numeric(boundaries=[1, 2.5, 10], dim=5)", "x", "[B, 5]", "field"),
    ("feature x : numeric(boundaries=[1, 2])", "x", "[B, 16]", "field"),
    ("feature x : numeric(dim=6)", "x", "[B, 6]", "field"),
    ("feature x : multi(id(buckets=9, dim=4), max_len=6)", "x", "[B, 6, 4]", "bag"),
    ("feature x : multi(c, max_len=2)", "x", "[B, 2, 4]", "bag"),
    ("feature x : sequence(of=a, max_len=50)", "x", "[B, 50, 8]", "seq"),
    ("feature x : sequence(category(size=3, dim=2), max_len=4)", "x", "[B, 4, 2]", "seq"),
    ("feature x : sequence(of=s4, max_len=9)", "x", "[B, 9, 4]", "seq"),
    # groups
    ("group x = [a, b]", "x", "[B, 2, 8]", "fieldlist"),
    ("group x = [a, c, n]", "x", "[B, 13]", "fieldlist"),
    ("group y = [a, b]\ngroup x = [y, a]", "x", "[B, 3, 8]", "fieldlist"),  # nested groups stack like fm sees them
    ("group y = [a, c]\ngroup x = [y, a]", "x", "[B, 20]", "fieldlist"),
    # pooling
    ("pool x = sum(s)", "x", "[B, 8]", "field"),
    ("pool x = avg(g)", "x", "[B, 8]", "field"),
    ("pool x = max(s4)", "x", "[B, 4]", "field"),
    ("pool x = avg([s, s4])", "x", "[B, 12]", "field"),
    ("pool x = din(query=a, keys=s)", "x", "[B, 8]", "field"),
    ("pool x = din(query=[a, c], keys=[s, s4])", "x", "[B, 12]", "field"),
    ("pool x = din(query=[a, c], keys=[s, s4], output=sequence)", "x", "[B, 5, 12]", "seq"),
    ("pool x = attention(query=a, keys=s)", "x", "[B, 8]", "field"),
    ("pool x = attention(query=c, keys=s)", "x", "[B, 8]", "field"),
    ("pool x = attention(query=a, keys=s, values=s4)", "x", "[B, 4]", "field"),
    ("pool x = attention(query=a, keys=s, output=sequence)", "x", "[B, 5, 8]", "seq"),
    ("pool x = attention(query=[a, c], keys=[s, s4], score=dot, transform=false)", "x", "[B, 12]", "field"),
    # gating
    ("gate x = senet([a, b, avg(s)])", "x", "[B, 3, 8]", "stack"),
    ("gate x = senet([a, b], granularity=dim)", "x", "[B, 2, 8]", "stack"),
    ("gate x = senet([a, b, avg(s)], granularity=dim_shared)", "x", "[B, 3, 8]", "stack"),
    ("gate x = poso(concat(a, c), by=[n, b])", "x", "[B, 12]", "vector"),
    # interaction
    ("block x = mlp([a, c, n], units=[32, 7])", "x", "[B, 7]", "vector"),
    ("block x = mlp(senet([a, b]), units=[4], gate=poso(by=n))", "x", "[B, 4]", "vector"),
    ("block x = fm([a, b, avg(s)])", "x", "[B, 1]", "vector"),
    ("block x = fm([a, b], reduce=false)", "x", "[B, 8]", "vector"),
    ("block x = cross([a, c, n], layers=3)", "x", "[B, 13]", "vector"),
    ("block x = cross(a, version=v1)", "x", "[B, 8]", "vector"),
    ("block x = bilinear([a, b, avg(s), avg(g)])", "x", "[B, 6, 8]", "stack"),
    ("block x = dot([a, b, avg(s)])", "x", "[B, 3]", "vector"),
    ("block x = dot([a, b, avg(s)], self_interaction=true)", "x", "[B, 6]", "vector"),
    ("block x = self_attention([a, b, avg(s)], heads=2)", "x", "[B, 3, 16]", "stack"),
    ("block x = self_attention(s, heads=3, head_dim=4)", "x", "[B, 5, 12]", "seq"),
    ("block x = self_attention(g, heads=1)", "x", "[B, 3, 8]", "seq"),
    ("block x = transformer(s, heads=2)", "x", "[B, 5, 8]", "seq"),
    ("block x = transformer([a, b], heads=4, ff=16, layers=2)", "x", "[B, 2, 8]", "stack"),
    ("block x = concat(a, c, n)", "x", "[B, 13]", "vector"),
    ("block x = concat(senet([a, b]), mlp(a, units=[3]))", "x", "[B, 19]", "vector"),
    ("block x = add(a, b, avg(s))", "x", "[B, 8]", "field"),
    ("block x = multiply(mlp(a, units=[4]), mlp(c, units=[4]))", "x", "[B, 4]", "vector"),
    ("block x = add(s, s8)", "x", "[B, 5, 8]", "seq"),
    ("block x = subtract(a, avg(s))", "x", "[B, 8]", "field"),
    ("block x = subtract(s, s8)", "x", "[B, 5, 8]", "seq"),
    ("pool x = traditional_attention(s, units=4)", "x", "[B, 8]", "field"),
    ("pool x = traditional_attention(s4, output=sequence)", "x", "[B, 5, 4]", "seq"),
    ("block x = positions(s)", "x", "[B, 5, 8]", "seq"),
    ("block x = positions(s, mode=concat, dim=3)", "x", "[B, 5, 11]", "seq"),
    ("block x = append(s, a)", "x", "[B, 6, 8]", "seq"),
    ("block x = cross_attention(query=s, keys=s8)", "x", "[B, 5, 8]", "seq"),
    ("block x = cross_attention(query=a, keys=s, heads=2)", "x", "[B, 1, 8]", "stack"),
    # outputs
    ("output x = sigmoid(concat(a, c))", "x", "[B, 1]", "vector"),
    ("output x = linear(mlp(a, units=[4]), weight=0.5, label=\"watch\")", "x", "[B, 1]", "vector"),
    # factorization and crossing (the model zoo)
    ("block x = fwfm([a, b, avg(s)])", "x", "[B, 1]", "vector"),
    ("block x = afm([a, b, avg(s)], units=4)", "x", "[B, 1]", "vector"),
    ("block x = afm([a, b], reduce=false)", "x", "[B, 8]", "vector"),
    ("block x = outer_product([a, b, avg(s), avg(g)])", "x", "[B, 6]", "vector"),
    ("block x = cin([a, b, avg(s)], sizes=[6, 4, 3])", "x", "[B, 8]", "vector"),  # 3 + 2 + 3 kept
    ("block x = cin(a, sizes=[5], split_half=false)", "x", "[B, 5]", "vector"),
    ("block x = cross_mix([a, c, n], experts=2, rank=3)", "x", "[B, 13]", "vector"),
    ("block x = gated_cross([a, c, n], layers=2)", "x", "[B, 13]", "vector"),
    # multi-task (experts, task gates, ESMM's product of probabilities)
    ("block e = mlp(a, units=[4])\ngate x = mixture([e, mlp(c, units=[4])], by=[a, n])", "x", "[B, 4]", "vector"),
    ("gate x = mixture([a, b], by=a)", "x", "[B, 8]", "vector"),
    ("output p = sigmoid(a)\noutput q = sigmoid(c, weight=0)\noutput x = product(p, q)", "x", "[B, 1]", "vector"),
    # served-only outputs: an attention node's weights
    ("pool d = din(query=a, keys=s)\noutput x = attention_weights(d)", "x", "[B, 5]", "vector"),
    # MaskNet and FinalMLP
    ("block x = maskblock([a, b, avg(s)], units=6)", "x", "[B, 6]", "vector"),
    ("block m = maskblock([a, b], units=4)\nblock x = maskblock([a, b], hidden=m, units=5, reduction=2)", "x",
     "[B, 5]", "vector"),
    ("gate x = feature_selection([a, c, n], by=[b])", "x", "[B, 13]", "vector"),
    ("gate x = feature_selection(concat(a, b), units=[])", "x", "[B, 16]", "vector"),
    ("block x = bilinear_fusion(mlp(a, units=[4]), mlp(b, units=[6]), heads=2)", "x", "[B, 1]", "vector"),
    # DIEN: the GRU interest extractor and the attention-steered evolution
    ("block x = gru(s)", "x", "[B, 5, 8]", "seq"),
    ("block x = gru(s4, units=6, output=final, aux_loss=1.0)", "x", "[B, 6]", "field"),
    ("block h = gru([s, s4], units=12)\npool x = augru(query=[a, c], keys=h, units=3)", "x", "[B, 3]", "field"),
    # the wide (linear) part over model inputs
    ("block x = wide(a, [c, g], n, s)", "x", "[B, 1]", "vector"),
    # PEPNet: EPNet's gated embeddings, PPNet's gated MLP
    ("gate x = epnet([a, b], by=[c, n])", "x", "[B, 2, 8]", "stack"),
    ("block x = ppnet([a, n], by=[b], units=[6, 3])", "x", "[B, 3]", "vector"),
]


def _case_id(case) -> str:
    body = case.values[0] if hasattr(case, "values") else case[0]
    return body.splitlines()[-1]


@pytest.mark.parametrize("body, name, shape, kind", SHAPES, ids=[_case_id(c) for c in SHAPES])
def test_output_shape(tmp_path, body, name, shape, kind):
    n = node(tmp_path, body + "\n", name)
    assert shape_text(n.type) == shape
    assert to_json(n.type)["type"] == kind
    assert to_json(n.type)["shape"] == ["B", *[int(x) for x in shape[4:-1].split(", ") if x]]


def test_every_registered_op_has_a_shape_case():
    covered = set()
    for case in SHAPES:
        body = case.values[0] if hasattr(case, "values") else case[0]
        for line in body.splitlines():
            covered.update(word for word in load() if f"{word}(" in line)
    assert covered == set(load()), set(load()) - covered


def test_anonymous_nested_nodes_are_typed_and_named_after_their_owner(tmp_path):
    spec = checked(tmp_path, "block x = mlp([a, avg(s), avg(g)], units=[4])\n")
    assert shape_text(spec.node("x.avg").type) == "[B, 8]"
    assert shape_text(spec.node("x.avg_2").type) == "[B, 8]"
    assert spec.node("x.avg").anonymous and not spec.node("x").anonymous
    assert spec.node("x").upstream == ("a", "x.avg", "x.avg_2")


def test_nodes_come_dependencies_first(tmp_path):
    spec = checked(tmp_path, "block late = mlp(early, units=[2])\nblock early = mlp(a, units=[4])\n")
    order = [n.name for n in spec.nodes]
    assert order.index("early") < order.index("late")
    for position, n in enumerate(spec.nodes):
        assert all(order.index(up) < position for up in n.upstream), n.name


def test_defaults_are_filled_in(tmp_path):
    n = node(tmp_path, "block x = mlp(a, units=[4])\n", "x")
    assert dict(n.args) == {"units": [4], "activation": "relu", "dropout": 0.0, "norm": "none", "gate": None,
                            "alpha_init": 0.0, "share": None}
    assert isinstance(n.arg("dropout"), float)


# --- parameter counts (hand formulas) -------------------------------------------------------

def dense(a: int, b: int) -> int:
    return a * b + b


def params(tmp_path, body: str, name: str) -> int:
    return node(tmp_path, body + "\n", name).params


def test_id_table(tmp_path):
    assert params(tmp_path, "feature x : id(buckets=1_000, dim=12)", "x") == (1000 + 2) * 12
    assert params(tmp_path, "feature x : id(buckets=20k)", "x") == (20000 + 2) * 16


def test_category_tables(tmp_path):
    assert params(tmp_path, 'feature x : category(vocab=["M", "F", "U"], dim=4)', "x") == (3 + 2) * 4
    assert params(tmp_path, "feature x : category(size=21, dim=8)", "x") == (21 + 2) * 8
    assert params(tmp_path, "feature x : category(max_tokens=500, dim=2)", "x") == (500 + 2) * 2


def test_category_vocab_file_counts_distinct_non_empty_lines(tmp_path):
    (tmp_path / "v.txt").write_text("a\nb\n\nc\nb\n")
    assert params(tmp_path, 'feature x : category(vocab_file="v.txt", dim=5)', "x") == (3 + 2) * 5


def test_numeric_params(tmp_path):
    assert params(tmp_path, "feature x : numeric(normalize=standard)", "x") == 0
    assert params(tmp_path, "feature x : numeric(boundaries=[1, 3, 7, 30], dim=8)", "x") == (4 + 1 + 2) * 8
    assert params(tmp_path, "feature x : numeric(dim=6)", "x") == 1 * 6
    assert params(tmp_path, "feature x : numeric(size=3, dim=6)", "x") == 3 * 6


def test_multi_with_its_own_table(tmp_path):
    assert params(tmp_path, "feature x : multi(id(buckets=5_000, dim=16), max_len=10)", "x") == (5000 + 2) * 16
    assert params(tmp_path, 'feature x : multi(category(vocab=["p", "q"], dim=3), max_len=4)', "x") == (2 + 2) * 3


def test_shared_tables_count_zero(tmp_path):
    spec = checked(tmp_path, "feature x : multi(b, max_len=4)\nfeature y : sequence(of=s, max_len=2)\n")
    assert spec.node("s").params == 0
    assert (spec.node("x").params, spec.node("x").shares, spec.node("x").share_kind) == (0, "b", "table")
    assert (spec.node("y").params, spec.node("y").shares) == (0, "a")


def test_din(tmp_path):
    d = 8 + 4  # keys [s, s4] concatenated
    mlp = dense(4 * d, 80) + dense(80, 40) + dense(40, 1)
    dice = 80 + 40  # one alpha per unit
    body = "pool x = din(query=[a, c], keys=[s, s4], units=[80, 40], activation=dice)"
    assert params(tmp_path, body, "x") == mlp + dice
    assert params(tmp_path, body.replace("dice", "sigmoid"), "x") == mlp


def test_din_defaults(tmp_path):
    assert params(tmp_path, "pool x = din(query=a, keys=s)", "x") == \
        dense(4 * 8, 80) + dense(80, 40) + dense(40, 1) + (80 + 40)


def test_senet(tmp_path):
    f, d, reduction = 6, 8, 2
    hidden = f // reduction
    body = "gate x = senet([a, b, avg(s), avg(s8), avg(g), max(s)], reduction=2)"
    assert params(tmp_path, body, "x") == dense(f, hidden) + dense(hidden, f)
    body_dim = body.replace("reduction=2", "reduction=2, granularity=dim")
    assert params(tmp_path, body_dim, "x") == dense(f, hidden) + dense(hidden, f * d)
    body_shared = body.replace("reduction=2", "reduction=2, granularity=dim_shared, squeeze=dense")
    assert params(tmp_path, body_shared, "x") == (f + 1) + dense(d, d // 2) + dense(d // 2, d)


def test_senet_bottleneck_never_below_one(tmp_path):
    assert params(tmp_path, "gate x = senet([a, b], reduction=3)", "x") == dense(2, 1) + dense(1, 2)


@pytest.mark.parametrize("args, expected", [
    ("layers=2", 2 * (13 * 13 + 13)),                     # v2: W [n, n] and b [n] per layer
    ("layers=3, version=v1", 3 * (13 + 13)),              # v1: w [n] and b [n] per layer
    ("layers=2, rank=4", 2 * (13 * 4 + 4 * 13 + 13)),     # low rank: U [n, r], V [r, n], b [n]
])
def test_cross(tmp_path, args, expected):
    assert params(tmp_path, f"block x = cross([a, c, n], {args})", "x") == expected


def test_mlp(tmp_path):
    n_in = 8 + 4 + 1
    plain = dense(n_in, 32) + dense(32, 16)
    assert params(tmp_path, "block x = mlp([a, c, n], units=[32, 16])", "x") == plain
    assert params(tmp_path, "block x = mlp([a, c, n], units=[32, 16], activation=prelu)", "x") == plain + 32 + 16
    assert params(tmp_path, "block x = mlp([a, c, n], units=[32, 16], norm=batch)", "x") == plain + 2 * (32 + 16)


def test_mlp_with_poso_gate(tmp_path):
    n_in, by, gate_units = 8 + 8, 4 + 1, 6
    tower = dense(n_in, 32) + dense(32, 16)
    gates = sum(dense(by, gate_units) + dense(gate_units, u) for u in (32, 16))  # one gate net per layer
    body = "block x = mlp([a, b], units=[32, 16], gate=poso(by=[c, n], units=6))"
    assert params(tmp_path, body, "x") == tower + gates


def test_poso_gate_alone(tmp_path):
    by, units, width = 4 + 1, 32, 8 + 4
    assert params(tmp_path, "gate x = poso(concat(a, c), by=[n, c])", "x") == dense(by, units) + dense(units, width)


@pytest.mark.parametrize("args, expected", [
    # transform=true learns K W + b from the key width (4) to the query width (8)
    ("score=dot", 4 * 8 + 8),
    ("score=scaled_dot", 4 * 8 + 8),
    ("score=bilinear", 4 * 8 + 8 + 8 * 8),
    ("score=additive, units=5", 4 * 8 + 8 + (8 * 5 + 8 * 5 + 5 + 5)),
    # without the transform
    ("score=bilinear, transform=false", 8 * 4),
    ("score=additive, units=5, transform=false", 8 * 5 + 4 * 5 + 5 + 5),
])
def test_attention_scores(tmp_path, args, expected):
    assert params(tmp_path, f"pool x = attention(query=a, keys=s4, {args})", "x") == expected


def test_attention_without_key_bias(tmp_path):
    assert params(tmp_path, "pool x = attention(query=a, keys=s4, key_bias=false)", "x") == 4 * 8
    assert params(tmp_path, "pool x = attention(query=a, keys=s4, score=additive, units=5, key_bias=false)",
                  "x") == 4 * 8 + (8 * 5 + 8 * 5 + 5 + 5)


def test_sharing_across_attention_ops_counts_the_shared_roles_once(tmp_path):
    """A traditional and a target attention borrow the self-attention's W_K [8, 8] and b_K [8];
    a target field through the history's self-attention ([B, 1, 8] vs [B, 5, 8]) reuses the layer."""
    spec = checked(tmp_path, "block h = self_attention(s, style=standard, heads=2)\n"
                             "block t = self_attention(a, style=standard, heads=2, share=h)\n"
                             "pool r = traditional_attention(s, units=8, share=h)\n"
                             "pool q = attention(query=a, keys=s, score=bilinear, share=h)\n")
    assert spec.node("h").params == 4 * (8 * 8 + 8)
    rows = [(spec.node(n).params, spec.node(n).shares, spec.node(n).borrows) for n in "trq"]
    assert rows == [(0, "h", ()), (8, "h", ("key", "key_bias")), (8 * 8, "h", ("key", "key_bias"))]
    assert (spec.node("t").type.shape, spec.node("t").share_kind) == (("B", 1, 8), "weights")


def test_sharing_a_borrower_borrows_from_it(tmp_path):
    spec = checked(tmp_path, "block h = self_attention(s, style=standard, heads=2)\n"
                             "pool r = traditional_attention(s, units=8, share=h)\n"
                             "pool r2 = traditional_attention(s, units=8, activation=tanh, share=r)\n")
    assert (spec.node("r2").shares, spec.node("r2").borrows, spec.node("r2").params) == (
        "r", ("key", "key_bias", "score"), 0)


def test_attention_values_add_no_weights(tmp_path):
    assert params(tmp_path, "pool x = attention(query=a, keys=s, values=s4)", "x") == 8 * 8 + 8


def test_self_attention(tmp_path):
    d, heads, head_dim = 8, 2, 4
    inner = heads * head_dim
    per_layer = 3 * d * inner + d * inner  # Q, K, V and the residual projection, no biases
    assert params(tmp_path, "block x = self_attention(s, heads=2, head_dim=4)", "x") == per_layer
    assert params(tmp_path, "block x = self_attention(s, heads=2, head_dim=4, residual=false)", "x") == 3 * d * inner
    second = 3 * inner * inner + inner * inner
    assert params(tmp_path, "block x = self_attention(s, heads=2, head_dim=4, layers=2)", "x") == per_layer + second


def test_transformer(tmp_path):
    d, ff = 8, 32  # ff defaults to 4 * d
    attention = 4 * (d * d + d)         # Q, K, V, O with biases
    norms = 2 * (2 * d)                 # two LayerNorms, gamma and beta
    ffn = dense(d, ff) + dense(ff, d)
    assert params(tmp_path, "block x = transformer(s, heads=2)", "x") == attention + norms + ffn
    ffn16 = dense(d, 16) + dense(16, d)
    three_layers = params(tmp_path, "block x = transformer(s, heads=4, ff=16, layers=3)", "x")
    assert three_layers == 3 * (attention + norms + ffn16)


@pytest.mark.parametrize("kind, matrices", [
    ("field_all", 1),
    ("field_each", 4 - 1),
    ("field_interaction", 4 * 3 // 2),
])
def test_bilinear(tmp_path, kind, matrices):
    d = 8
    assert params(tmp_path, f"block x = bilinear([a, b, avg(s), avg(g)], type={kind})", "x") == matrices * d * d


@pytest.mark.parametrize("body", [
    "block x = fm([a, b])", "block x = dot([a, b, avg(s)])", "block x = concat(a, c)", "block x = add(a, b)",
    "block x = multiply(a, b)", "pool x = avg(s)", "pool x = sum(g)", "pool x = max(s)", "group x = [a, b]",
    "pool x = attention(query=a, keys=s, score=dot, transform=false)",
])
def test_ops_without_weights(tmp_path, body):
    assert params(tmp_path, body, "x") == 0


def test_heads(tmp_path):
    assert params(tmp_path, "output x = sigmoid(concat(a, c))", "x") == 12 + 1
    assert params(tmp_path, "output x = linear(mlp(a, units=[7]))", "x") == 7 + 1


def test_shared_weights_count_zero(tmp_path):
    spec = checked(tmp_path, "pool p = din(query=a, keys=s)\npool q = din(query=b, keys=s8, share=p)\n"
                             "pool r = din(query=a, keys=s, share=q)\n")
    assert spec.node("p").params > 0
    assert [(spec.node(n).params, spec.node(n).shares, spec.node(n).share_kind) for n in "qr"] == [
        (0, "p", "weights"), (0, "p", "weights")]


def test_total_params_is_the_sum_over_nodes(tmp_path):
    spec = checked(tmp_path, "block x = mlp([a, c], units=[4])\n")
    assert spec.total_params == sum(n.params for n in spec.nodes)
    assert spec.total_params == (10 + 2) * 8 + (3 + 2) * 8 + (5 + 2) * 4 + (7 + 2) * 8 + dense(12, 4) + dense(8, 1)


def test_din_spec_by_hand():
    """specs/din.rec node by node, from the formulas."""
    spec = recdsl.typecheck(next(p for p in SPECS if p.stem == "din"))
    genres = len({ln.strip() for ln in (SPECS[0].parent / "genres.txt").read_text().splitlines() if ln.strip()})
    fields = 3 + 1 + 1 + 1                   # user (3), genres_vec, item_id, item_cate
    x = fields * 16 + 32 + 1                 # senet fields flattened, din interest (2 x 16), age
    by = 16 + 1                              # poso by=[user_id, age]
    expected = {
        "user_id": (100_000 + 2) * 16, "gender": (2 + 2) * 16, "age": 0, "occupation": (21 + 2) * 16,
        "genres": (genres + 2) * 16, "item_id": (20_000 + 2) * 16, "item_cate": (20 + 2) * 16,
        "hist_items": 0, "hist_cates": 0, "user": 0, "genres_vec": 0,
        "interest": dense(4 * 32, 80) + dense(80, 40) + dense(40, 1) + 80 + 40,
        "fields": dense(fields, fields // 3) + dense(fields // 3, fields),
        "cross": 2 * (x * x + x),
        "deep": dense(x, 256) + dense(256, 128) + dense(128, 64)
        + sum(dense(by, 32) + dense(32, u) for u in (256, 128, 64)),
        "ctr.concat": 0, "ctr": (x + 64) + 1,
    }
    assert {n.name: n.params for n in spec.nodes} == expected
    assert spec.total_params == sum(expected.values())
    shapes = {n.name: shape_text(n.type) for n in spec.nodes}
    assert shapes["interest"] == "[B, 32]"
    assert shapes["fields"] == "[B, 6, 16]"
    assert shapes["hist_items"] == "[B, 50, 16]"
    assert shapes["ctr.concat"] == f"[B, {x + 64}]"


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_example_spec_checks(path):
    spec = recdsl.typecheck(path)
    assert spec.name and spec.outputs
    assert spec.warnings == ()
    assert all(n.params >= 0 for n in spec.nodes)
    assert all(shape_text(n.type).startswith("[B") for n in spec.nodes)
