"""Attention diagnostics: the weights every attention op (OpSpec.attention: din, attention,
traditional_attention, and self_attention / cross_attention averaged over heads and queries)
gives the history positions.

The quickest way to see a target attention that is not working is the distribution of its
weights: if they are nearly uniform within each row, the pool is an expensive average.
For each such pool a probe model maps the model inputs to the pool's own inputs (query,
keys, mask), and the layer's `attention_weights` gives the weights at valid positions;
`attention_stats` summarises them in plain numbers (no Keras), which the report shows.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from recdsl.ops import load

ATTENTION_ROWS = 20_000  # validation rows used for the attention diagnostics
NORMALIZE_MODES = ("none", "softmax")

#: softmax pools: a pool is flagged near-uniform when the mean over rows of the normalised entropy
#: H / log(n_valid) of each row's weights is above this. For small deviations from uniform,
#: H / log(n) ~= 1 - CV**2 / (2 log n), so 0.99 means the weights of a typical row stay within
#: about +-20% (10 positions) to +-28% (50 positions) of 1/n.
ENTROPY_THRESHOLD = 0.99
#: unnormalised ("none", DIN) pools: flagged near-uniform when the mean over rows of the within-row
#: coefficient of variation (see `_within_row_cv`) is below this, i.e. the weights of a typical
#: row differ from their row mean by less than about 10%.
CV_THRESHOLD = 0.10
#: unnormalised pools whose largest |weight| over all valid positions is below this are "dead".
DEAD_WEIGHT = 1e-6
#: softmax rows whose sum over valid positions is further than this from 1 trigger a warning.
SOFTMAX_SUM_TOL = 1e-3
HISTOGRAM_BINS = 20

#: normalize -> (uniformity measure, its threshold, the key the measure also appears under)
_MEASURES = {"softmax": ("normalised_entropy", ENTROPY_THRESHOLD, "mean_normalised_entropy"),
             "none": ("within_row_cv", CV_THRESHOLD, "mean_within_row_cv")}
_VALUE_KEYS = ("mean", "var", "std", "min", "max", "p5", "p50", "p95")


# --------------------------------------------------------------------------- attention statistics


def attention_stats(weights, mask, normalize: str, *, name: str | None = None) -> dict[str, Any]:
    """Summary statistics and a uniformity check of the weights an attention pool gave each
    history position.

    weights: float array [N, L] (a trailing axis of size 1 is dropped), one row per validation
    example. mask: bool array [N, L], True at valid (non-padding) positions; None means all valid.
    normalize: "none" (DIN: unnormalised scores, any real numbers) or "softmax" (each row sums to 1
    over its valid positions). name: the pool's name, used in the warning text.

    Only valid positions count; the values at masked positions are ignored entirely. Valid
    positions holding NaN or +-inf are counted in "nonfinite", excluded, and produce a warning.

    Returned keys (all JSON-serialisable):

    - rows (N), rows_with_history (rows with >= 1 valid position), rows_without_history,
      rows_measured (rows with >= 2 valid finite positions: the rows the uniformity is measured on),
      positions (valid finite positions), nonfinite;
    - mean, var (population variance, ddof=0), std, min, max, p5, p50, p95 (numpy's linear
      quantiles), over all valid positions of all rows pooled together;
    - histogram: {"edges": 21 floats, "counts": 20 ints}, `numpy.histogram` with 20 bins over the
      range of the valid weights;
    - relative_histogram (softmax only, else None): the same over n_valid * p of the measured rows,
      the weight relative to a uniform share (1 = uniform), which unlike the raw softmax weight
      does not depend on the length of the history;
    - uniformity_measure, uniformity, uniformity_threshold, near_uniform_rows, near_uniform,
      warning, warnings, plus the measure under its own name (mean_normalised_entropy or
      mean_within_row_cv).

    Uniformity asks whether a pool weighs the positions of one history differently, or behaves
    like plain avg/sum pooling. It is measured per row with >= 2 valid positions, and the rows'
    values are averaged: the normalised entropy for "softmax" (`_normalised_entropy`), the
    within-row coefficient of variation for "none" (`_within_row_cv`; a pool whose weights are
    all below 1e-6 in magnitude is reported as dead). near_uniform_rows counts the rows that pass
    the threshold on their own. When no row has two valid positions the uniformity, near_uniform
    and the measure are None. With no valid position at all, every statistic is None (the counts
    are still given) and the warning says there was no history to measure.
    """
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f"normalize must be one of {NORMALIZE_MODES}, got {normalize!r}")
    w, m = _weights_and_mask(weights, mask)
    label = _pool_label(name)
    rows = int(w.shape[0])
    rows_with_history = int(m.any(axis=1).sum())
    finite = np.isfinite(w)
    nonfinite = int((m & ~finite).sum())
    m = m & finite
    w = np.where(m, w, 0.0)  # masked positions can hold anything, NaN included
    n_valid = m.sum(axis=1)
    values = w[m]
    out: dict[str, Any] = {
        "pool": name, "normalize": normalize, "rows": rows, "rows_with_history": rows_with_history,
        "rows_without_history": rows - rows_with_history, "rows_measured": int((n_valid >= 2).sum()),
        "positions": int(values.size), "nonfinite": nonfinite,
    }
    warnings: list[str] = []
    if nonfinite:
        warnings.append(
            f"{label} hold {nonfinite:,} non-finite value(s) (NaN or inf) at valid positions; they "
            "were left out of these statistics: the model has diverged or a feature overflowed."
        )
    if values.size == 0:
        _no_history(out, normalize, warnings, label, rows)
    else:
        _measure(out, w, m, n_valid, values, normalize, warnings, label)
    out["warning"] = " ".join(warnings) or None
    out["warnings"] = warnings
    return out


def _pool_label(name: str | None) -> str:
    return f"attention weights of `{name}`" if name else "attention weights"


def _as_rows(array) -> np.ndarray:
    """[N, L, 1] -> [N, L]; [L] -> [1, L]; anything else as it is."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    return array[None, :] if array.ndim == 1 else array


def _weights_and_mask(weights, mask) -> tuple[np.ndarray, np.ndarray]:
    w = _as_rows(np.asarray(weights, dtype=np.float64))
    if w.ndim != 2:
        raise ValueError(f"weights must have shape [N, L], got {tuple(np.shape(weights))}")
    if mask is None:
        return w, np.ones(w.shape, dtype=bool)
    m = _as_rows(np.asarray(mask)).astype(bool)
    if m.shape != w.shape:
        raise ValueError(f"mask shape {m.shape} does not match weights shape {w.shape}")
    return w, m


def _histogram(values: np.ndarray) -> dict:
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _uniformity(out: dict, normalize: str, uniformity, near_rows: int, near) -> None:
    measure, threshold, key = _MEASURES[normalize]
    out.update(uniformity_measure=measure, uniformity=uniformity, uniformity_threshold=threshold,
               near_uniform_rows=near_rows, near_uniform=near)
    out[key] = uniformity


def _no_history(out: dict, normalize: str, warnings: list, label: str, rows: int) -> None:
    out.update({key: None for key in _VALUE_KEYS})
    out["histogram"] = {"edges": [], "counts": []}
    out["relative_histogram"] = None
    _uniformity(out, normalize, None, 0, None)
    warnings.append(
        f"{label}: there was no history to measure ({rows:,} rows, none with a valid "
        "position); check that the history columns are filled and the mask is not all padding."
    )


def _is_near(normalize: str, value, threshold: float):
    """Whether a uniformity value (or an array of them) is on the near-uniform side."""
    return value > threshold if normalize == "softmax" else value < threshold


def _measure(out: dict, w, m, n_valid, values, normalize: str, warnings: list, label: str) -> None:
    """The value statistics and the uniformity of weights with at least one valid position."""
    p5, p50, p95 = np.quantile(values, [0.05, 0.5, 0.95])
    out.update(zip(_VALUE_KEYS, (float(x) for x in (values.mean(), values.var(), values.std(), values.min(),
                                                    values.max(), p5, p50, p95))))
    out["histogram"] = _histogram(values)
    if normalize == "softmax":
        per_row, out["relative_histogram"] = _normalised_entropy(w, m, n_valid, warnings, label)
    else:
        per_row, out["relative_histogram"] = _within_row_cv(w, m, n_valid), None
    threshold = _MEASURES[normalize][1]
    uniformity = float(per_row.mean()) if per_row.size else None
    near = bool(_is_near(normalize, uniformity, threshold)) if per_row.size else None
    _uniformity(out, normalize, uniformity, int(_is_near(normalize, per_row, threshold).sum()), near)
    warning = _uniformity_warning(normalize, values, uniformity, near, int(per_row.size), label)
    if warning:
        warnings.append(warning)


def _normalised_entropy(w, m, n_valid, warnings: list, label: str):
    """Softmax pools: (per measured row, the normalised entropy H(p) / log(n_valid) of its weights
    p over its valid positions, renormalised to sum 1: 1 for uniform weights, 0 for all weight on
    one position; the relative histogram of n_valid * p, or None). A row that does not sum to 1
    also adds a warning, usually a softmax that included padding."""
    has = n_valid >= 1
    sums = w.sum(axis=1)
    off = has & (np.abs(sums - 1.0) > SOFTMAX_SUM_TOL)
    if off.any():
        lo, hi = float(sums[has].min()), float(sums[has].max())
        warnings.append(
            f"{label}: {int(off.sum()):,} of {int(has.sum()):,} rows do not sum to 1 over their "
            f"valid positions (row sums {lo:.4g} to {hi:.4g}): the softmax may include padding "
            "positions, or the weights are not softmax-normalised; entropies were computed "
            "after renormalising each row."
        )
    p = np.clip(w, 0.0, None)
    total = p.sum(axis=1)
    measured = (n_valid >= 2) & (total > 0)
    p = p / np.where(total > 0, total, 1.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = -plogp.sum(axis=1)
    relative = (p * n_valid[:, None])[m & measured[:, None]]
    return entropy[measured] / np.log(n_valid[measured]), _histogram(relative) if relative.size else None


def _within_row_cv(w, m, n_valid):
    """Unnormalised pools: per measured row, the coefficient of variation std_row / mean_row(|w|)
    of its weights (population std). Unnormalised weights are not a distribution: they can be
    negative, and their scale carries the intensity of interest, which DIN keeps on purpose. This
    is the ordinary CV when a row's weights share a sign and still finite when they straddle zero;
    a row of zeros counts as 0. A near-uniform pool is a per-example scaled sum pooling."""
    n = np.maximum(n_valid, 1).astype(np.float64)
    mean_row = w.sum(axis=1) / n
    var_row = (np.where(m, w - mean_row[:, None], 0.0) ** 2).sum(axis=1) / n
    abs_row = np.abs(w).sum(axis=1) / n
    std_row = np.sqrt(var_row)
    cv = np.divide(std_row, abs_row, out=np.zeros_like(std_row), where=abs_row > 0)
    return cv[n_valid >= 2]


def _uniformity_warning(normalize: str, values, uniformity, near, measured: int, label: str) -> str | None:
    threshold = _MEASURES[normalize][1]
    if normalize == "none" and float(np.abs(values).max()) < DEAD_WEIGHT:
        return (f"{label} are all about zero (max |w| {float(np.abs(values).max()):.3g}): the pool "
                "outputs about zero for every example; the attention MLP may have collapsed (dead "
                "activations), try a lower learning rate or another activation.")
    if near:
        if normalize == "softmax":
            what = f"mean normalised entropy {uniformity:.4f} > {threshold:g}"
            acts = "avg pooling"
        else:
            what = f"mean within-row coefficient of variation {uniformity:.4f} < {threshold:g}"
            acts = "sum pooling scaled per example"
        return (f"{label} are close to uniform ({what}, over {measured:,} rows): the pool "
                f"behaves like {acts}; check that the query and keys share an embedding space, "
                "and the learning rate.")
    if uniformity is None:
        return (f"{label}: no row has two or more valid history positions, so the uniformity of the "
                "weights could not be measured.")
    return None


def warnings_of(stats: Mapping[str, Any]) -> list[str]:
    """The warnings of one pool's attention_stats (also of stats saved with only "warning")."""
    found = stats.get("warnings")
    if found is None:
        found = [stats["warning"]] if stats.get("warning") else []
    return [str(text) for text in found]


def uniformity_text(stats: Mapping[str, Any]) -> str | None:
    """A pool's uniformity as "entropy 0.9950" or "CV 0.0500"; None when it was not measured."""
    value = stats.get("uniformity")
    if value is None:
        return None
    short = "entropy" if stats.get("uniformity_measure") == "normalised_entropy" else "CV"
    return f"{short} {value:.4f}"


# --------------------------------------------------------------------------- the model's pools


def attention_pools(spec) -> list:
    """The nodes whose op declares attention weights (OpSpec.attention), in spec order."""
    registry = load()
    return [n for n in spec.nodes if n.op in registry and registry[n.op].attention is not None]


def attention_weights(model, spec, inputs: dict, rows: int, batch_size: int = 4096) -> dict:
    """{pool: (weights [n, L], mask [n, L] bool, normalize)} on the first `rows` rows of `inputs`.

    The spec is emitted once more to learn what each pool's layer is called with (the emit
    contract's tensors and mask), the trained weights are copied in by layer name, and a
    probe model maps the model inputs to those tensors; the layer's declared method
    (OpSpec.attention) then gives the weights."""
    import keras

    from recdsl.emitter import Emitter
    from recdsl.training.scoring import predict_rows

    pools = attention_pools(spec)
    if not pools or not inputs:
        return {}
    n = min(rows, len(next(iter(inputs.values()))))
    feed = {k: v[:n] for k, v in inputs.items()}
    emitter = Emitter(spec)
    probe_of = emitter.run()
    for layer in probe_of.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    out = {}
    for node in pools:
        call, declared = emitter.calls[node.name], load()[node.op].attention
        taps = {f"in{i}": t for i, t in enumerate(call.tensors)}
        if call.mask is not None:
            taps["mask"] = call.mask
        got = predict_rows(keras.Model(probe_of.inputs, taps), feed, batch_size)
        parts = [got[f"in{i}"] for i in range(len(call.tensors))]
        m = np.asarray(got["mask"]).astype(bool) if "mask" in got else np.ones(parts[-1].shape[:2], bool)
        method = getattr(emitter.layers[node.name], declared.method)
        w = []
        for start in range(0, n, batch_size):
            chunk = [x[start:start + batch_size] for x in parts]  # called as the layer was (Call.single)
            w.append(keras.ops.convert_to_numpy(
                method(chunk[0] if call.single else chunk, mask=m[start:start + batch_size])))
        out[node.name] = (np.concatenate(w).astype("float64"), m, declared.normalize(dict(node.args)))
    return out


def attention_report(model, spec, inputs: dict, rows: int = ATTENTION_ROWS) -> dict:
    """{pool: attention_stats(...)} on the first `rows` rows of `inputs`, for the report."""
    return {name: attention_stats(w, m, normalize, name=name)
            for name, (w, m, normalize) in attention_weights(model, spec, inputs, rows).items()}
