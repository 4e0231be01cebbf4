"""What a checked spec needs from the data: one column per feature, one label column per trained output.

An output without a loss is *served only*: it has no label column, no loss and no metric, and
the data need not have a column for it. That is every output whose op's head is the served
head (`attention_weights`), and a `weight=0` output given no label (no `label=` argument and
no entry in the run config's `columns:`), such as ESMM's pCVR; a weight=0 output with a label
keeps it and is measured against it. The model still computes served outputs: `recdsl predict`
writes them and `recdsl export` serves them.

A *table* is one embedding table's value space: the id/category feature that owns it and
every multi/sequence feature that shares it (`sequence(of=item_id)`). Features of one table
go through the same preprocessing (the same hash, the same vocabulary), so a history item
and a candidate item with the same raw value land on the same row.

An *aligned group* is a set of list features read position by position together: the
members of one input slot of a node (`din(keys=[hist_items, hist_cates])` pairs the i-th
item with the i-th category), traced back through sequence nodes (a self-attention over
`hist_items` keeps its positions). Every row must give them lists of the same length.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recdsl.checker.spec import CheckedSpec, Node
from recdsl.ops import load
from recdsl.ops.heads import head_of
from recdsl.ops.outputs import SERVED_HEAD
from recdsl.ops.types import BagType, SeqType
from recdsl.ops.vocab import read_vocab_file

#: The stored `kind` of a numeric column with boundaries= (other columns store their feature's op).
BUCKETED = "bucket"


@dataclass(frozen=True)
class Table:
    """How raw values of one table become embedding rows (recdsl.ops.rows: padding, OOV, values)."""

    name: str            # the owning feature (or `feature.of` for an inline table)
    op: str              # the owning op (id | category); stored, never branched on
    buckets: int | None = None          # id: hash buckets
    vocab: tuple[str, ...] | None = None  # category: fixed vocabulary (vocab= or vocab_file=)
    size: int | None = None             # category: integer codes 0..size-1
    max_tokens: int | None = None       # category: vocabulary learned from training data

    @property
    def hashed(self) -> bool:
        """Values are hashed into `buckets` rows (else looked up in a vocabulary)."""
        return self.buckets is not None

    @property
    def learned(self) -> bool:
        return self.max_tokens is not None


@dataclass(frozen=True)
class Column:
    """One model input and the data column it is read from."""

    feature: str         # the spec's feature name = the model input name
    column: str          # the data column
    kind: str            # the feature's op, or BUCKETED; stored for saved runs, never branched on
    table: Table | None = None
    max_len: int | None = None       # multi / sequence
    sep: str = "^"                  # CSV separator of list cells
    size: int = 1                    # numeric: values per row
    normalize: str = "none"          # numeric: none | standard | minmax | log
    boundaries: tuple[float, ...] | None = None  # bucketised numeric

    @property
    def is_list(self) -> bool:
        """A multi/sequence column: [n, max_len] rows of its table."""
        return self.max_len is not None

    @property
    def is_numeric(self) -> bool:
        """A numeric column (no table): dense, or bucketised to rows."""
        return self.table is None

    @property
    def bucketised(self) -> bool:
        return self.boundaries is not None


@dataclass(frozen=True)
class Label:
    output: str          # the spec's output name = the model output name
    column: str
    loss: str            # the output's head (recdsl.ops.heads): binary | mse
    weight: float = 1.0


@dataclass(frozen=True)
class Served:
    """An output served without a label, loss or metric (see the module docstring)."""

    output: str          # the spec's output name = the model output name
    op: str              # the output's op; stored, never branched on
    meaning: str         # what its values are, for the serving signature
    size: int = 1        # values per row: 1 for a prediction, L for attention weights [B, L]


@dataclass(frozen=True)
class Aligned:
    """List features whose rows must have equal lengths, and the node slots that pair them."""

    features: tuple[str, ...]
    uses: tuple[str, ...]     # "keys of `interest`"

    @property
    def reason(self) -> str:
        return "; ".join(self.uses)


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]
    labels: tuple[Label, ...]
    tables: dict = field(default_factory=dict, compare=False)  # table name -> Table
    aligned: tuple[Aligned, ...] = ()
    served: tuple[Served, ...] = ()

    @property
    def data_columns(self) -> list[str]:
        """Every column read from the files, feature columns first, without repeats."""
        seen: dict[str, None] = {}
        for name in [c.column for c in self.columns] + [lab.column for lab in self.labels]:
            seen.setdefault(name, None)
        return list(seen)

    def column(self, feature: str) -> Column:
        for c in self.columns:
            if c.feature == feature:
                return c
        raise KeyError(feature)

    def table_columns(self, table: str) -> list[Column]:
        return [c for c in self.columns if c.table is not None and c.table.name == table]


def schema_of(spec: CheckedSpec, columns: dict[str, str] | None = None,
              separators: dict[str, str] | None = None) -> Schema:
    """The data schema of a checked spec. A feature reads the column named by the run config's
    `columns:` mapping, else its `column=` argument, else its own name; `separators`
    overrides list separators."""
    columns = dict(columns or {})
    separators = dict(separators or {})
    base = Path(spec.file).parent if spec.file else Path(".")
    tables: dict[str, Table] = {}
    out: list[Column] = []
    registry = load()
    for node in spec.nodes:
        if node.kind != "feature":
            continue
        col = columns.get(node.name, node.arg("column") or node.name)
        form = registry[node.op].feature  # recdsl.ops.registry.FEATURE_FORMS
        if form == "row":
            table = tables.setdefault(node.name, _table(node.name, node.op, dict(node.args), base))
            out.append(Column(node.name, col, node.op, table=table))
        elif form == "rows":
            of = node.arg("of")
            if isinstance(of, str):
                table = tables[of]
            else:
                table = tables.setdefault(f"{node.name}.of", _table(f"{node.name}.of", of["op"], of, base))
            out.append(Column(node.name, col, node.op, table=table, max_len=node.arg("max_len"),
                              sep=separators.get(node.name, node.arg("sep") or "^")))
        elif form == "values":
            boundaries = node.arg("boundaries")
            out.append(Column(node.name, col, BUCKETED if boundaries is not None else node.op,
                              size=node.arg("size") or 1, normalize=node.arg("normalize") or "none",
                              boundaries=tuple(float(b) for b in boundaries) if boundaries else None))
    labels = tuple(_label(n, columns) for n in spec.outputs if not _served_only(n, columns))
    served = tuple(_served(n) for n in spec.outputs if _served_only(n, columns))
    return Schema(tuple(out), labels, tables, aligned_groups(spec), served)


def aligned_groups(spec: CheckedSpec) -> tuple[Aligned, ...]:
    """The aligned groups of a spec: list features fed to one slot of a node together (after
    expanding groups and tracing sequence nodes to the features whose positions they keep),
    merged when they overlap; in spec order."""
    registry = load()

    def expand(members) -> list[str]:
        return [leaf for m in members
                for leaf in (expand(spec.node(m).inputs[0].members) if spec.node(m).kind == "group" else [m])]

    def sources(name: str) -> set[str]:
        node = spec.node(name)
        if node.kind == "feature":
            return {name} if registry[node.op].feature == "rows" else set()
        if not isinstance(node.type, (SeqType, BagType)):
            return set()
        slot = next((i.name for i in registry[node.op].inputs if i.mask in ("consume", "keep")), None)
        return set().union(*(sources(m) for b in node.inputs if b.role == slot for m in expand(b.members)))

    groups: list[tuple[set, list]] = []
    for node in spec.nodes:
        if node.kind in ("feature", "group"):
            continue
        for role in dict.fromkeys(b.role for b in node.inputs):
            found = [sources(m) for b in node.inputs if b.role == role for m in expand(b.members)]
            found = [f for f in found if f]
            if len(found) < 2:  # one list (or one sequence node's lists, paired where it was made)
                continue
            found = set().union(*found)
            uses = [f"{role.split('.')[-1]} of `{node.name}`"]
            for other in [g for g in groups if g[0] & found]:
                groups.remove(other)
                found, uses = found | other[0], other[1] + uses
            groups.append((found, uses))
    order = [n.name for n in spec.nodes]
    return tuple(Aligned(tuple(sorted(f, key=order.index)), tuple(u)) for f, u in groups)


def _table(name: str, op: str, args: dict, base: Path) -> Table:
    """The table of a table-owning feature op (`op`, with its arguments `args`)."""
    if load()[op].table == "hashed":
        return Table(name, op, buckets=int(args["buckets"]))
    if args.get("vocab") is not None:
        return Table(name, op, vocab=tuple(str(v) for v in args["vocab"]))
    if args.get("vocab_file") is not None:
        return Table(name, op, vocab=tuple(read_vocab_file(base / args["vocab_file"])))
    if args.get("size") is not None:
        return Table(name, op, size=int(args["size"]))
    return Table(name, op, max_tokens=int(args["max_tokens"]))


def _served_only(node: Node, columns: dict[str, str]) -> bool:
    """An output without a loss: the served head's, or weight=0 with no label given."""
    if load()[node.op].head == SERVED_HEAD:
        return True
    return float(node.arg("weight", 1.0)) == 0.0 and node.arg("label") is None and node.name not in columns


def _served(node: Node) -> Served:
    head = load()[node.op].head
    if head == SERVED_HEAD:
        source = node.inputs[0].members[0]
        return Served(node.name, node.op, f"attention weights of `{source}`, one per position (0 at padding)",
                      node.type.width)
    return Served(node.name, node.op, f"{head_of(head).meaning}, served only (weight=0, no label)")


def _label(node: Node, columns: dict[str, str]) -> Label:
    column = node.arg("label") or columns.get(node.name, node.name)
    return Label(node.name, column, load()[node.op].head, float(node.arg("weight", 1.0)))


def schema_to_json(schema: Schema) -> dict:
    """A JSON-able form of the schema, saved with a run so it reloads without the spec."""
    from dataclasses import asdict

    return {"tables": {name: asdict(t) for name, t in schema.tables.items()},
            "columns": [{**asdict(c), "table": c.table.name if c.table else None} for c in schema.columns],
            "labels": [asdict(lab) for lab in schema.labels],
            "aligned": [asdict(a) for a in schema.aligned],
            "served": [asdict(o) for o in schema.served]}


def schema_from_json(data: dict) -> Schema:
    def tup(v):
        return tuple(v) if isinstance(v, list) else v

    tables = {name: Table(**{k: tup(v) for k, v in t.items()}) for name, t in data["tables"].items()}
    columns = tuple(Column(**{**{k: tup(v) for k, v in c.items()},
                              "table": tables[c["table"]] if c["table"] else None}) for c in data["columns"])
    labels = tuple(Label(**lab) for lab in data["labels"])
    aligned = tuple(Aligned(tuple(a["features"]), tuple(a["uses"])) for a in data.get("aligned", []))
    served = tuple(Served(**o) for o in data.get("served", []))
    return Schema(columns, labels, tables, aligned, served)  # runs saved before aligned groups / served: none
