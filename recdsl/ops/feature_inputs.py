"""The "features" input form: features read as their model inputs (ids, bucket rows, raw values),
not as their embeddings. The wide (linear) part reads its features so.

    FeatureInput(name, form, table, rows, size)
        form "row"     int32 [B]      a categorical feature's row of table `table` (rows rows)
             "rows"    int32 [B, L]   a bag's or sequence's rows of table `table`, 0-padded
             "bucket"  int32 [B]      a bucketised numeric's bucket row (its own `rows`-row table)
             "dense"   float32 [B, n] a numeric's raw (normalised) values, n = `size`
    FeatureInputs(items)  the features of one slot, in order (groups expanded)

`table` is the name of the feature owning the table: features that share a table (`of=`) name
its owner, so an op can give them one set of weights.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

#: A feature op's model input (recdsl.ops.registry.FEATURE_FORMS) -> how the "features" form reads it.
READS = {"row": "row", "rows": "rows"}


@dataclass(frozen=True)
class FeatureInput:
    name: str
    form: str  # row | rows | bucket | dense
    table: str | None = None
    rows: int = 0
    size: int = 0

    describe = "a feature's model input"


@dataclass(frozen=True)
class FeatureInputs:
    items: tuple[FeatureInput, ...]

    describe = "features read as their model inputs"

    @property
    def shape(self) -> tuple:
        return ("B", len(self.items))

    @property
    def width(self) -> int:
        return len(self.items)



def layer_config(given) -> list[dict]:
    """What a layer reading a "features" slot is built with: one JSON-able dict per input tensor, in
    order; `given` is the slot's FeatureInputs, or a tuple of them (a variadic slot)."""
    slots = given if isinstance(given, (tuple, list)) else (given,)
    return [asdict(item) for features in slots for item in features.items]


def table_rows(node) -> int:
    """Rows of the table a categorical feature node owns (its checked count is rows * dim)."""
    return node.params // node.type.dim


def feature_input(node, nodes: dict, registry: dict) -> FeatureInput | None:
    """How a "features" slot reads checked feature node `node` (None: `node` is not a feature)."""
    if node.kind != "feature":
        return None
    op = registry[node.op]
    if op.feature == "values":
        boundaries = node.arg("boundaries")
        if boundaries is not None:
            return FeatureInput(node.name, "bucket", node.name, table_rows(node))
        return FeatureInput(node.name, "dense", size=node.arg("size"))
    owner = nodes[node.shares] if node.share_kind == "table" else node
    return FeatureInput(node.name, READS[op.feature], owner.name, table_rows(owner))
