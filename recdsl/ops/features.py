"""Feature ops: how a raw column becomes an embedding field, a numeric value, a bag or a sequence.

Every embedding table reserves row 0 for padding and row 1 for out-of-vocabulary or
missing values, so a table for n known values has n + 2 rows.
"""
from __future__ import annotations

from collections import Counter

from recdsl.ops.context import TypeProblem
from recdsl.ops.params import REQUIRED, Param
from recdsl.ops.registry import OpSpec, register
from recdsl.ops.rows import RESERVED_ROWS
from recdsl.ops.types import BagType, DenseType, FieldType, SeqType

DEFAULT_DIM = 16

_dim = Param("dim", "int", DEFAULT_DIM, low=1, doc="embedding width")
_l2 = Param("l2", "float", 0.0, low=0.0, doc="mini-batch-aware L2 on the rows a batch uses")
_init_std = Param("init_std", "float", None, low=0.0,
                  doc="draw the table's rows from N(0, init_std^2) (DeepCTR's init_std) instead of U(-0.05, 0.05)")
_column = Param("column", "str", None, min_length=1,
                doc="the data column to read, when it is not the feature's name")


def _table_type(ctx) -> FieldType:
    """The field type of an id or category feature (each has its own table), after the checks both share."""
    if ctx.arg("init_std") == 0:
        raise TypeProblem("init_std=0 starts every row at the same zero vector, and products of embeddings "
                          "(fm, dot, attention) then get no gradient", "give a small positive spread, e.g. "
                          "init_std=1e-4 (DeepCTR's), or leave it out for U(-0.05, 0.05)", at="init_std")
    return FieldType(ctx.arg("dim"))


def _category_infer(ctx):
    given = [k for k in ("vocab", "vocab_file", "size", "max_tokens") if ctx.arg(k) is not None]
    if len(given) != 1:
        raise TypeProblem(
            "category needs exactly one of vocab=, vocab_file=, size=, max_tokens=" if not given else
            f"category takes one of vocab=, vocab_file=, size=, max_tokens=, not {' and '.join(given)}",
            'list the values (vocab=["M", "F"]), a file (vocab_file="x.txt"), integer codes (size=21) '
            "or a cap for a vocabulary learned from data (max_tokens=10_000)",
            at=given[1] if len(given) > 1 else None)
    if ctx.arg("vocab") is not None and len(set(ctx.arg("vocab"))) != len(ctx.arg("vocab")):
        dupes = sorted(v for v, n in Counter(ctx.arg("vocab")).items() if n > 1)
        raise TypeProblem(f"vocab lists {dupes[0]!r} twice", "each value may appear once", at="vocab")
    return _table_type(ctx)


def vocab_size(args: dict, file_values: int | None) -> int:
    if args.get("vocab") is not None:
        return len(args["vocab"])
    if args.get("size") is not None:
        return args["size"]
    if args.get("max_tokens") is not None:
        return args["max_tokens"]
    return file_values


register(OpSpec(
    name="id", family="feature", label="hashed id",
    summary="A high-cardinality id hashed into `buckets` rows (strings or integers).",
    inputs=(), params=(Param("buckets", "int", REQUIRED, low=1, doc="hash buckets"), _dim, _l2, _init_std, _column),
    infer=_table_type,
    count=lambda ctx, out: (ctx.arg("buckets") + RESERVED_ROWS) * ctx.arg("dim"),
    layer="recdsl.layers.embedding:FeatureEmbedding", key_args=("buckets", "dim"), feature="row", table="hashed",
    example="feature user_id : id(buckets=100_000, dim=16)",
))

register(OpSpec(
    name="category", family="feature", label="category",
    summary="A categorical value looked up in a known vocabulary; unseen values share one OOV row.",
    inputs=(),
    params=(
        Param("vocab", "str_list", None, doc="the values, in order", empty_hint="list at least one value"),
        Param("vocab_file", "str", None, file="vocab", min_length=1,
              doc="a text file with one value per line (relative to the spec)"),
        Param("size", "int", None, low=1, doc="integer codes 0..size-1"),
        Param("max_tokens", "int", None, low=1, doc="learn the vocabulary from training data, at most this many"),
        _dim, _l2, _init_std, _column,
    ),
    infer=_category_infer,
    count=lambda ctx, out: (vocab_size(ctx.args, ctx.vocab_size) + RESERVED_ROWS) * ctx.arg("dim"),
    layer="recdsl.layers.embedding:FeatureEmbedding", key_args=("vocab", "vocab_file", "size", "max_tokens", "dim"),
    feature="row", table="lookup",
    example='feature gender : category(vocab=["M", "F"], dim=4)',
))


def _numeric_infer(ctx):
    boundaries = ctx.arg("boundaries")
    if boundaries is not None:
        if list(boundaries) != sorted(set(boundaries)):
            raise TypeProblem("boundaries must be strictly increasing", "sort them and drop repeats",
                              at="boundaries")
        return FieldType(ctx.arg("dim") or DEFAULT_DIM)
    if ctx.arg("dim") is not None:
        return FieldType(ctx.arg("dim"))
    return DenseType(ctx.arg("size"))


def _numeric_count(ctx, out) -> int:
    if ctx.arg("boundaries") is not None:
        return (len(ctx.arg("boundaries")) + 1 + RESERVED_ROWS) * out.dim
    if ctx.arg("dim") is not None:
        return ctx.arg("size") * out.dim
    return 0


register(OpSpec(
    name="numeric", family="feature", label="numeric",
    summary="A float value (or `size` of them). Alone it is a dense input; with `boundaries=` it is "
            "bucketised and embedded; with `dim=` alone it is projected to an embedding field.",
    inputs=(),
    params=(
        Param("normalize", "enum", "none", choices=("none", "standard", "minmax", "log"),
              doc="statistics learned from training data"),
        Param("boundaries", "num_list", None, doc="bucket edges, strictly increasing"),
        Param("dim", "int", None, low=1, doc="embed as a field of this width"),
        Param("size", "int", 1, low=1, doc="values per row"),
        _column,
    ),
    infer=_numeric_infer, count=_numeric_count,
    layer="recdsl.layers.embedding:NumericFeature", key_args=("normalize", "boundaries", "dim"), feature="values",
    example="feature age : numeric(normalize=standard)",
))


def _table_field(ctx) -> FieldType:
    table = ctx.table.type
    if not isinstance(table, FieldType):
        raise TypeProblem("`of` must be a categorical feature (id or category)",
                          "multi/sequence share the table of an id or category feature", at="of")
    return table


def _table_count(ctx, out) -> int:
    return ctx.table.params


for _name, _type, _label, _summary, _example in (
    ("multi", BagType, "multi-valued", "A variable-length list of categorical values (a bag), masked.",
     'feature genres : multi(category(vocab_file="genres.txt", dim=8), max_len=6)'),
    ("sequence", SeqType, "behaviour sequence",
     "An ordered behaviour history (oldest first), masked; `of=` another feature shares its table.",
     "feature hist_items : sequence(of=item_id, max_len=50)"),
):
    register(OpSpec(
        name=_name, family="feature", label=_label, summary=_summary,
        inputs=(),
        params=(
            Param("of", "table", REQUIRED, calls=("id", "category"),
                  doc="a categorical feature to share a table with, or its own id(...)/category(...)"),
            Param("max_len", "int", REQUIRED, low=1, doc="longer lists keep their newest max_len values"),
            Param("sep", "str", "^", min_length=1, doc="separator of values in a CSV cell"),
            _column,
        ),
        infer=(lambda kind: lambda ctx: kind(ctx.arg("max_len"), _table_field(ctx).dim))(_type),
        count=_table_count,
        layer="recdsl.layers.embedding:FeatureEmbedding", key_args=("of", "max_len"), feature="rows",
        example=_example,
    ))
