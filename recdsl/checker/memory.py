"""The bytes of a spec's weights, against what an embedding lookup can index and what the machine holds.

Every parameter is a float32 (BYTES_PER_PARAM bytes), so a node's weights take 4 x its parameters.
check refuses, before anything is allocated:

- an embedding table of more than MAX_TABLE_ROWS rows: a feature's rows are int32 model inputs, so
  no lookup reaches past row 2^31 - 1 (error on the feature);
- a node whose weights take more than the memory limit (error on the node);
- a model whose weights together take more than the memory limit (error on the model line);

and warns when the model's weights take more than WARN_FRACTION of the memory limit: training with
Adam keeps gradients and two moment slots beside the weights, about four times their bytes.

The memory limit is the machine's physical memory (os.sysconf), or the container's memory limit
when that is lower (cgroup v2 memory.max), or FALLBACK_MEMORY where neither can be read.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from recdsl.lang.errors import SpecError
from recdsl.ops import load

BYTES_PER_PARAM = 4  # float32
MAX_TABLE_ROWS = 2**31 - 1
WARN_FRACTION = 0.25
FALLBACK_MEMORY = 64 * 2**30
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory.max")


def physical_memory() -> int | None:
    """Bytes of physical memory (lowered to the cgroup's limit when there is one), or None."""
    found = []
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if total > 0:
            found.append(total)
    except (AttributeError, ValueError, OSError):
        pass
    try:
        text = CGROUP_MEMORY.read_text().strip()
        if text.isdigit() and int(text) > 0:
            found.append(int(text))
    except OSError:
        pass
    return min(found) if found else None


def memory_limit() -> int:
    """The most bytes of weights a spec may have (see the module docstring)."""
    return physical_memory() or FALLBACK_MEMORY


def size_text(nbytes: int) -> str:
    """1536 -> `1.5 KiB`, in binary units up to PiB."""
    value, unit = float(nbytes), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    return f"{nbytes:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"


@dataclass(frozen=True)
class NodeSite:
    """A checked node and where to point at it (its statement's name, or the nested call)."""

    node: object
    span: object


def weight_problems(sites: list[NodeSite], header_span, whole_model: bool = True, limit: int | None = None
                    ) -> tuple[list[SpecError], list[SpecError]]:
    """(errors, warnings) about the weights of `sites` (the checked nodes) and, with `whole_model`
    (every node checked), of the model they make up."""
    limit = memory_limit() if limit is None else limit
    errors = [e for site in sites if (e := _node_problem(site, limit)) is not None]
    if not whole_model:
        return errors, []
    total_params = sum(site.node.params for site in sites)
    total = total_params * BYTES_PER_PARAM
    biggest = max(sites, key=lambda s: s.node.params, default=None)
    largest = f"; the largest is `{biggest.node.name}` ({size_text(biggest.node.params * BYTES_PER_PARAM)})" \
        if biggest is not None and biggest.node.params else ""
    what = f"the model's weights take {size_text(total)} ({total_params:,} float32 parameters)"
    if not errors and total > limit:
        errors.append(SpecError(header_span, f"{what}, more than the {size_text(limit)} of memory here",
                                "shrink the largest tables (fewer buckets, a smaller dim)" + largest))
    warnings = []
    if not errors and total > limit * WARN_FRACTION:
        warnings.append(SpecError(
            header_span, f"{what}; training with Adam needs about 4x that ({size_text(4 * total)}), "
                         f"more than {WARN_FRACTION:.0%} of the {size_text(limit)} of memory here",
            "expect out-of-memory errors when building or training; shrink the largest tables" + largest,
            severity="warning"))
    return errors, warnings


def _node_problem(site: NodeSite, limit: int) -> SpecError | None:
    node = site.node
    if not node.params:
        return None
    rows = table_rows(node)
    if rows is not None and rows > MAX_TABLE_ROWS:
        return SpecError(site.span, f"`{node.name}`'s embedding table has {rows:,} rows "
                                    f"({size_text(node.params * BYTES_PER_PARAM)} of float32 weights); row ids are "
                                    f"int32, so a table has at most {MAX_TABLE_ROWS:,} rows",
                         "hash into fewer buckets, or cap the vocabulary (max_tokens=)")
    nbytes = node.params * BYTES_PER_PARAM
    if nbytes > limit:
        what = "embedding table takes" if rows is not None else "weights take"
        return SpecError(site.span, f"`{node.name}`'s {what} {size_text(nbytes)} ({node.params:,} float32 "
                                    f"parameters), more than the {size_text(limit)} of memory here",
                         "use fewer buckets or rows, a smaller dim or fewer units")
    return None


def table_rows(node) -> int | None:
    """The rows of the embedding table a feature node owns (id, category, multi/sequence with their
    own table), or None for nodes without one."""
    op = load().get(node.op)
    if op is None or op.feature not in ("row", "rows") or node.shares is not None:
        return None
    dim = getattr(node.type, "dim", None)
    return node.params // dim if dim else None


#: model parallel (recdsl.training.distribution) row-shards the tables of more rows than this
SHARD_TABLES_ABOVE = 100_000


def row_sharded(rows: int, threshold: int, devices: int) -> bool:
    """Whether model parallel over `devices` splits a table of `rows` rows by rows: more rows than
    `threshold` (a table whose rows do not divide is padded to the next multiple: shard_rows)."""
    return devices > 1 and rows > threshold


def shard_rows(rows: int, devices: int) -> int:
    """The rows each of `devices` holds of a row-sharded table: ceil(rows / devices) (the table is
    padded with never-looked-up rows to devices x that; recdsl.layers.embedding)."""
    return -(-rows // devices)


def table_bytes(spec, devices: int = 1, threshold: int = SHARD_TABLES_ABOVE) -> tuple[list, int]:
    """([(feature, rows, dim, bytes, bytes per device)] of every embedding table, model bytes per
    device) under model parallel over `devices`: a row-sharded table's shard_rows rows on each (its
    padding rows included), every other weight replicated on each. `bytes` is the real rows'."""
    tables, per_device = [], 0
    for node in spec.nodes:
        nbytes = node.params * BYTES_PER_PARAM
        rows = table_rows(node)
        here = nbytes
        if rows is not None and row_sharded(rows, threshold, devices):
            here = shard_rows(rows, devices) * (node.params // rows) * BYTES_PER_PARAM
        per_device += here
        if rows is not None:
            tables.append((node.name, rows, node.params // rows if rows else 0, nbytes, here))
    return tables, per_device
