"""Weights shared by role across attention layers (`share=` between ops): the borrowing layer uses
the owner's variables (one set in a model's weights), computes its own formula with them
(against numpy, padding included), trains them from both uses (the gradient of the shared
weight is the sum of each use's), and a saved model reloads with the same outputs."""
import keras
import numpy as np
import pytest

from recdsl.layers.attention import TargetAttention
from recdsl.layers.self_attention import SelfAttention
from recdsl.layers.shared_weights import RoleWeights
from recdsl.layers.traditional_attention import TraditionalAttention

from . import reference as ref
from .layer_check import assert_close, gradients, lengths_mask, randomize, rng, to_numpy, weight

B, L, D = 5, 4, 6


def history(seed):
    return rng(seed).normal(size=(B, L, D)).astype("float32"), lengths_mask([4, 0, 2, 3, 1], L)


def owner_and_borrowers(x):
    """A standard self-attention (owner) and a traditional and a target attention borrowing its W_K, b_K."""
    owner = SelfAttention(style="standard", heads=2)
    owner(x)
    randomize(owner, 3)
    traditional = TraditionalAttention(units=D)
    traditional.borrow(owner, ("key", "key_bias"))
    target = TargetAttention(score="scaled_dot")
    target.borrow(owner, ("key", "key_bias"))
    return owner, traditional, target


def test_borrowed_weights_are_the_owners_variables():
    x, mask = history(1)
    owner, traditional, target = owner_and_borrowers(x)
    traditional(x, mask=mask)
    target([x[:, 0], x], mask=mask)
    key, key_bias = owner.weights_by_role()["key"], owner.weights_by_role()["key_bias"]
    assert traditional.kernel is key and traditional.bias is key_bias
    assert target.key_kernel is key and target.key_bias is key_bias
    assert [w.path for w in traditional.trainable_weights] == [key.path, key_bias.path,
                                                               traditional.score_kernel.path]
    inp = keras.Input((L, D))
    model = keras.Model(inp, [owner(inp), traditional(inp), target([inp[:, 0], inp])])
    assert len(model.weights) == len({id(w) for w in model.weights}) == len(owner.weights) + 1


def test_borrowers_compute_their_formulas_with_the_owners_weights():
    x, mask = history(2)
    owner, traditional, target = owner_and_borrowers(x)
    query = rng(4).normal(size=(B, D)).astype("float32")
    traditional(x, mask=mask)
    randomize(traditional, 5)  # changes the owner's W_K, b_K too: they are one set
    x64, w_k, b_k = x.astype("float64"), weight(owner.weights_by_role()["key"]), weight(owner.weights_by_role()["key_bias"])
    assert np.array_equal(w_k, weight(traditional.kernel))
    got_traditional = to_numpy(traditional(x, mask=mask))
    scores = np.maximum(x64 @ w_k + b_k, 0.0) @ weight(traditional.score_kernel)[:, 0]
    a = ref.softmax(scores, mask)
    assert_close(got_traditional, (a[..., None] * np.where(mask[..., None], x64, 0.0)).sum(1))
    got_target = to_numpy(target([query, x], mask=mask))
    k = np.where(mask[..., None], x64, 0.0) @ w_k + b_k
    a = ref.softmax(np.einsum("bld,bd->bl", k, query.astype("float64")) / np.sqrt(D), mask)
    assert_close(got_target, (a[..., None] * np.where(mask[..., None], x64, 0.0)).sum(1))
    assert np.all(got_traditional[1] == 0.0) and np.all(got_target[1] == 0.0)  # all-padding row


def test_the_shared_weight_is_trained_by_both_uses():
    x = rng(6).normal(size=(B, L, D)).astype("float32")
    owner, traditional, _ = owner_and_borrowers(x)
    randomize(traditional, 7)
    inp = keras.Input((L, D))
    self_part = keras.ops.mean(owner(inp), axis=1)
    both = keras.Model(inp, keras.ops.concatenate([self_part, traditional(inp)], axis=-1))
    only_self, only_traditional = keras.Model(inp, self_part), keras.Model(inp, traditional(inp))
    cot = rng(8).normal(size=(B, 2 * D))
    key_at = [id(w) for w in both.trainable_weights].index(id(owner.weights_by_role()["key"]))
    g_both = gradients(both, x, cot)[1 + key_at]
    g_self = gradients(only_self, x, cot[:, :D])[1 + [id(w) for w in only_self.trainable_weights].index(
        id(owner.weights_by_role()["key"]))]
    g_trad = gradients(only_traditional, x, cot[:, D:])[1 + [id(w) for w in only_traditional.trainable_weights]
                                                         .index(id(traditional.kernel))]
    assert np.abs(g_self).max() > 1e-6 and np.abs(g_trad).max() > 1e-6
    np.testing.assert_allclose(g_both, g_self + g_trad, rtol=1e-5, atol=1e-7)


def test_a_model_with_borrowed_weights_saves_and_reloads(tmp_path):
    x, mask = history(9)
    owner, traditional, _ = owner_and_borrowers(x)
    inp = keras.Input((L, D))
    model = keras.Model(inp, keras.ops.concatenate([keras.ops.mean(owner(inp), axis=1), traditional(inp)], -1))
    before = to_numpy(model(x))
    model.save(tmp_path / "shared.keras")
    again = keras.saving.load_model(tmp_path / "shared.keras")
    np.testing.assert_array_equal(to_numpy(again(x)), before)


def test_a_borrowed_weight_of_another_shape_is_refused():
    x, _ = history(10)
    owner = SelfAttention(style="standard", heads=2)
    owner(x)
    narrow = TraditionalAttention(units=3)
    narrow.borrow(owner, ("key",))
    with pytest.raises(ValueError, match=r"cannot borrow key \(6, 6\) from .*: it needs \(6, 3\)"):
        narrow(x)


class _Scaled(RoleWeights, keras.layers.Layer):
    """The smallest user of the mixin: y = x @ W + b, W and b made by role."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def build(self, input_shape):
        self.w = self.role_weight("key", (input_shape[-1], self.width))
        self.b = self.role_weight("key_bias", (self.width,), initializer="zeros")

    def call(self, x):
        return x @ self.w + self.b


def test_role_weights_lends_only_the_roles_named_and_refuses_other_shapes():
    x = rng(5).normal(size=(3, D)).astype("float32")
    owner = _Scaled(4, name="owner")
    owner(x)
    randomize(owner, 2)
    borrower = _Scaled(4, name="borrower")
    borrower.borrow(owner, ("key",))
    y = to_numpy(borrower(x))
    roles = borrower.weights_by_role()
    assert roles["key"] is owner.weights_by_role()["key"]  # the lender's variable itself
    assert roles["key_bias"] is not owner.weights_by_role()["key_bias"]  # its own, made fresh
    assert_close(y, x @ to_numpy(owner.w))  # the fresh bias starts at zeros
    assert len(borrower.weights) == 2 and {id(w) for w in borrower.weights} >= {id(owner.w)}

    wrong = _Scaled(5, name="wrong")
    wrong.borrow(owner, ("key",))
    with pytest.raises(ValueError, match=r"^wrong cannot borrow key \(6, 4\) from owner: it needs \(6, 5\)$"):
        wrong(x)
