"""Attention diagnostics: the weights every `din`/`attention` pool gives the history positions.

The quickest way to see a target attention that is not working is the distribution of its
weights: if they are nearly uniform within each row, the pool is an expensive average.
For each such pool a probe model maps the model inputs to the pool's own inputs (query,
keys, mask), and the layer's `attention_weights` gives the weights at valid positions.
"""
from __future__ import annotations

import numpy as np

from recdsl.training.report import attention_stats


def attention_pools(spec) -> list:
    return [n for n in spec.nodes if n.op in ("din", "attention")]


def attention_weights(model, spec, inputs: dict, rows: int, batch_size: int = 4096) -> dict:
    """{pool: (weights [n, L], mask [n, L] bool, normalize)} on the first `rows` rows of `inputs`."""
    import keras

    from recdsl.emitter import layer_name

    pools = attention_pools(spec)
    if not pools or not inputs:
        return {}
    n = min(rows, len(next(iter(inputs.values()))))
    feed = {k: v[:n] for k, v in inputs.items()}
    out = {}
    for node in pools:
        layer = model.get_layer(layer_name(node.name))
        call = layer._inbound_nodes[0].arguments
        parts = list(call.args[0])
        mask = call.kwargs.get("mask")
        probe = keras.Model(model.inputs, {"query": parts[0], "keys": parts[1],
                                           **({"mask": mask} if mask is not None else {})})
        got = probe.predict(feed, batch_size=batch_size, verbose=0)
        m = np.asarray(got["mask"]).astype(bool) if "mask" in got else np.ones(got["keys"].shape[:2], bool)
        w = []
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            w.append(keras.ops.convert_to_numpy(
                layer.attention_weights([got["query"][sl], got["keys"][sl]], mask=m[sl])))
        normalize = "softmax" if node.op == "attention" else (node.arg("normalize") or "none")
        out[node.name] = (np.concatenate(w).astype("float64"), m, normalize)
    return out


def attention_report(model, spec, inputs: dict, rows: int) -> dict:
    """{pool: attention_stats(...)} for the report."""
    return {name: attention_stats(w, m, normalize, name=name)
            for name, (w, m, normalize) in attention_weights(model, spec, inputs, rows).items()}
