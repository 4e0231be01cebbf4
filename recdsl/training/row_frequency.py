"""DIN's n_j into the model: each regularised embedding table's `row_frequency` from the row counts
preprocessing found in the training data (recdsl.data.row_counts)."""
from __future__ import annotations

from recdsl.data.row_counts import frequencies
from recdsl.emitter import feature_layer_name


def set_row_frequencies(model, spec, pre) -> list[str]:
    """Set n_j in every FeatureEmbedding with l2 > 0 whose table preprocessing counted; returns
    the names of the layers set. A table shared by several features has one layer and one count
    over all of them."""
    done = []
    for col in pre.schema.columns:
        if col.is_numeric or col.table.name not in pre.row_counts:
            continue
        node = spec.node(col.feature)
        owner = node.shares if node.share_kind == "table" else node.name
        try:
            layer = model.get_layer(feature_layer_name(owner))
        except ValueError:
            continue
        if getattr(layer, "l2", 0) > 0 and hasattr(layer, "row_frequency") and layer.name not in done:
            layer.row_frequency.assign(frequencies(pre.row_counts[col.table.name], layer.rows))
            done.append(layer.name)
    return done
