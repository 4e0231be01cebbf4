import numpy as np
import pytest

from recdsl.layers.activations import Dice, PReLU, activation_layer

from .layer_check import (
    assert_close,
    central_difference,
    check_layer,
    check_mixed,
    gradients,
    lengths_mask,
    randomize,
    rng,
    to_numpy,
    trainable_count,
    weight,
)

B, L, U = 6, 5, 4


def dice_reference(x, alpha, mean, var, eps):
    p = 1.0 / (1.0 + np.exp(-(x - mean) / np.sqrt(var + eps)))
    return p * x + (1 - p) * alpha * x


def test_dice_inference_matches_numpy(tmp_path):
    x = rng(1).normal(size=(B, L, U)).astype("float32")
    layer = Dice()
    layer.build(x.shape)
    randomize(layer, 2)
    out = check_layer(layer, x, params=U, tmp_path=tmp_path)
    expected = dice_reference(x, weight(layer.alpha), weight(layer.moving_mean), weight(layer.moving_variance), 1e-8)
    assert_close(out, expected)


def test_dice_training_uses_masked_batch_moments():
    x = rng(3).normal(size=(B, L, U)).astype("float32")
    mask = lengths_mask([5, 0, 2, 3, 1, 4], L)
    layer = Dice()
    layer.build(x.shape)
    randomize(layer, 4)
    out = layer(x, mask=mask, training=True)
    valid = x[mask]
    expected = dice_reference(x, weight(layer.alpha), valid.mean(0), valid.var(0), 1e-8)
    assert_close(to_numpy(out)[mask], expected[mask], rtol=1e-4)
    junk = np.where(mask[..., None], x, 1e3).astype("float32")
    out_junk = layer(junk, mask=mask, training=True)
    assert_close(to_numpy(out_junk)[mask], to_numpy(out)[mask])


def test_dice_moving_moments_follow_the_valid_positions():
    x = rng(9).normal(loc=2.0, scale=3.0, size=(B, L, U)).astype("float32")
    mask = lengths_mask([5, 0, 2, 3, 1, 4], L)
    layer = Dice(momentum=0.9)
    layer.build(x.shape)
    mean, var = np.zeros(U), np.ones(U)
    valid = x[mask]
    for _ in range(3):
        layer(np.where(mask[..., None], x, np.nan).astype("float32"), mask=mask, training=True)
        mean, var = 0.9 * mean + 0.1 * valid.mean(0), 0.9 * var + 0.1 * valid.var(0)
    assert_close(weight(layer.moving_mean), mean, rtol=1e-5)
    assert_close(weight(layer.moving_variance), var, rtol=1e-5)
    # a batch with no valid position leaves them alone
    layer(x, mask=np.zeros((B, L), bool), training=True)
    assert_close(weight(layer.moving_mean), mean, rtol=1e-5)


def _dice_training_loss(x, alpha, cot, mask, eps=1e-8):
    """numpy float64: sum(cot * dice(x)) over the valid positions, with their batch moments."""
    valid = x[mask]
    return float(np.sum(cot[mask] * dice_reference(valid, alpha, valid.mean(0), valid.var(0), eps)))


@pytest.mark.parametrize("masked", [False, True])
def test_dice_training_gradient_matches_finite_differences(masked):
    """The hand-written backward of the training path, moments' share included, against
    central differences of the numpy formula."""
    x = rng(11).normal(loc=0.5, scale=1.5, size=(3, 4, U))
    mask = lengths_mask([4, 1, 3], 4) if masked else np.ones((3, 4), bool)
    cot = rng(12).normal(size=x.shape)
    layer = Dice()
    layer.build(x.shape)
    randomize(layer, 13)
    alpha = weight(layer.alpha)
    kwargs = {"mask": mask} if masked else {}
    gx, galpha = gradients(layer, x.astype("float32"), cot.astype("float32"), training=True, **kwargs)
    want_x = central_difference(lambda v: _dice_training_loss(v, alpha, cot, mask), x)
    want_alpha = central_difference(lambda a: _dice_training_loss(x, a, cot, mask), alpha)
    assert np.all(gx[~mask] == 0.0)
    assert_close(gx, want_x, rtol=2e-4)
    assert_close(galpha, want_alpha, rtol=2e-4)


@pytest.mark.parametrize("shape", [(B, U), (B, L, U)])
def test_prelu_one_alpha_per_unit(shape, tmp_path):
    x = rng(5).normal(size=shape).astype("float32")
    layer = PReLU()
    layer.build(x.shape)
    randomize(layer, 6)
    out = check_layer(layer, x, params=U, tmp_path=tmp_path)
    alpha = weight(layer.alpha)
    assert_close(out, np.where(x > 0, x, alpha * x))


@pytest.mark.parametrize("name", ["prelu", "dice"])
def test_the_initial_slope_is_alpha_init(name, tmp_path):
    """alpha_init=0.1 (the DIN-FCN article's PReLU): every slope starts there, the output uses it."""
    x = rng(11).normal(size=(B, L, U)).astype("float32")
    layer = activation_layer(name, alpha_init=0.1)
    out = check_layer(layer, x, params=U, tmp_path=tmp_path)
    np.testing.assert_array_equal(weight(layer.alpha), np.full(U, np.float32(0.1)))
    if name == "prelu":
        assert_close(out, np.where(x > 0, x, 0.1 * x.astype("float64")))
    else:  # inference: the moving moments start at mean 0, variance 1
        assert_close(out, dice_reference(x.astype("float64"), 0.1, 0.0, 1.0, layer.epsilon))
    default = activation_layer(name)
    default.build((None, U))
    assert np.all(weight(default.alpha) == 0.0)  # unset: DIN's start, a ReLU


@pytest.mark.parametrize("name", ["relu", "dice", "prelu", "sigmoid", "tanh", "gelu", "swish", "linear"])
def test_activation_by_name(name):
    layer = activation_layer(name)
    x = rng(7).normal(size=(B, U)).astype("float32")
    assert to_numpy(layer(x)).shape == (B, U)
    assert trainable_count(layer) == (U if name in ("dice", "prelu") else 0)


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        activation_layer("softsign")


def test_mixed_precision():
    x = rng(8).normal(size=(B, L, U)).astype("float32")
    check_mixed(lambda dtype: Dice(dtype=dtype), x, training=True)
    check_mixed(lambda dtype: PReLU(dtype=dtype), x)
