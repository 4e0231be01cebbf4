"""A SpecDiff as terminal text, as Markdown for a pull-request comment, and as JSON (and back).

Text: one line per change, `MARK NAME  KIND OP  DETAILS`, columns aligned, then a summary line;
nothing at all when the specs are the same (as `diff` prints nothing). Marks:
    +  added        -  removed        ~  changed (own definition) or affected (shape/params only)
    >  renamed      (`~ model`/`~ doc`: the model's name or doc string)
"""
from __future__ import annotations

import json

from recdsl.ops.types import shape_label
from recdsl.review.diff import ArgChange, Edge, NodeChange, SpecDiff, is_default

MARKS = {"added": "+", "removed": "-", "renamed": ">", "changed": "~", "affected": "~"}
_COLOURS = {"added": "32", "removed": "31", "renamed": "36", "changed": "33", "affected": "2", "model": "33"}
_BARE_ROLES = ("x", "members", "fields")  # input slots shown without their name
JSON_FORMAT = "recdsl-diff/1"


def show_value(value) -> str:
    """An argument value as the .rec form writes it: `[80, 40]`, `poso(by=[a, b], units=16)` (a nested
    call without its default arguments), `100_000`."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict) and "op" in value:
        inner = ", ".join(f"{k}={show_value(v)}" for k, v in value.items()
                          if k != "op" and not is_default(value["op"], k, v))
        return f"{value['op']}({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, int) and value >= 10_000:
        return f"{value:_}"
    return str(value)


def show_inputs(inputs) -> str:
    """`[a, b]`, or `query=[a] keys=[b, c]` where the slot's name says something."""
    if not inputs:
        return "-"
    return " ".join(("" if role in _BARE_ROLES else f"{role}=") + "[" + ", ".join(members) + "]"
                    for role, members in inputs)


def _number_change(old: int, new: int) -> str:
    return f"{old:,} -> {new:,} ({new - old:+,})"


def _arg(change: ArgChange) -> str:
    if change.old is None:
        return f"+{change.name}={show_value(change.new)}"
    if change.new is None:
        return f"-{change.name}={show_value(change.old)}"
    return f"{change.name} {show_value(change.old)} -> {show_value(change.new)}"


def details(change: NodeChange) -> list[str]:
    """The parts of one change's description, in reading order."""
    if change.change in ("added", "removed"):
        shape = change.shape if change.change == "added" else change.old_shape
        params = change.params if change.change == "added" else change.old_params
        inputs = change.inputs if change.change == "added" else change.old_inputs
        out = [f"{shape_label(shape)} {params:,} params"]
        if inputs:
            out.append("<- " + show_inputs(inputs))
        if change.args:
            out.append(", ".join(f"{a.name}={show_value(a.new if a.old is None else a.old)}" for a in change.args))
        return out
    out = []
    if change.rewired:
        out.append(f"inputs {show_inputs(change.old_inputs)} -> {show_inputs(change.inputs)}")
    out += [_arg(a) for a in change.args]
    if change.old_shape != change.shape:
        out.append(f"shape {shape_label(change.old_shape)} -> {shape_label(change.shape)}")
    if change.old_params != change.params:
        out.append(f"params {_number_change(change.old_params, change.params)}")
    if change.change == "affected" and out:
        out[-1] += "  (upstream)"
    return out


def _name(change: NodeChange) -> str:
    return f"{change.old_name} -> {change.name}" if change.old_name else change.name


def _kind_op(change: NodeChange) -> str:
    kind = f"{change.old_kind} -> {change.kind}" if change.old_kind else change.kind
    if change.old_op:
        return f"{kind} {change.old_op} -> {change.op}"
    return kind if change.op == change.kind else f"{kind} {change.op}"


def summary(diff: SpecDiff) -> str:
    """`1 changed, 2 affected; params 2,045,894 -> 2,059,615 (+13,721)`."""
    counts = [f"{diff.count(c)} {c}" for c in ("added", "removed", "renamed", "changed", "affected") if diff.count(c)]
    model = [what for what, differs in (("name", diff.old_model != diff.new_model), ("doc", diff.old_doc != diff.new_doc))
             if differs]
    parts = ", ".join(counts + ([f"model {' and '.join(model)} changed"] if model else [])) or "edges only"
    return f"{parts}; params {_number_change(diff.old_params, diff.new_params)}"


def _model_rows(diff: SpecDiff) -> list[tuple[str, str, str]]:
    rows = []
    if diff.old_model != diff.new_model:
        rows.append(("model", diff.old_model, diff.new_model))
    if diff.old_doc != diff.new_doc:
        rows.append(("doc", json.dumps(diff.old_doc, ensure_ascii=False), json.dumps(diff.new_doc, ensure_ascii=False)))
    return rows


def to_text(diff: SpecDiff, colour: bool = False) -> str:
    """The terminal form (see the module doc); ANSI colours only when `colour`."""
    if diff.same:
        return ""
    paint = (lambda text, key: f"\x1b[{_COLOURS[key]}m{text}\x1b[0m") if colour else (lambda text, key: text)
    rows = [("~", what, f"{old} -> {new}", "", "model") for what, old, new in _model_rows(diff)]
    rows += [(MARKS[c.change], _name(c), _kind_op(c), "; ".join(details(c)), c.change) for c in diff.changes]
    width = max(len(r[1]) for r in rows)
    op_width = max((len(r[2]) for r in rows if r[4] != "model"), default=0)
    lines = []
    for mark, name, kind_op, text, key in rows:
        if key == "model":
            lines.append(paint(f"{mark} {name.ljust(width)}  {kind_op}", key))
        else:
            lines.append(paint(f"{mark} {name.ljust(width)}", key) + f"  {kind_op.ljust(op_width)}  {text}".rstrip())
    lines.append(summary(diff))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(diff: SpecDiff) -> str:
    """A summary line, the model's name/doc changes, then a table with one row per changed node."""
    if diff.same:
        return f"**{diff.new_model}**: no semantic difference ({diff.new_params:,} params).\n"
    title = diff.new_model if diff.old_model == diff.new_model else f"{diff.old_model} → {diff.new_model}"
    lines = [f"**{_cell(title)}**: {summary(diff).replace(' -> ', ' → ')}", ""]
    lines += [f"- {what}: {_cell(old)} → {_cell(new)}" for what, old, new in _model_rows(diff)]
    if diff.changes:
        if lines[-1]:
            lines.append("")
        lines += ["| | node | op | change | shape | params |", "|---|---|---|---|---|---|"]
        for c in diff.changes:
            shape = c.shape if c.shape is not None else c.old_shape
            if c.old_shape is not None and c.shape is not None and c.old_shape != c.shape:
                shape = f"{shape_label(c.old_shape)} → {shape_label(c.shape)}"
            else:
                shape = shape_label(shape)
            params = (f"{c.old_params:,} → {c.params:,} ({c.param_delta:+,})"
                      if c.old_params is not None and c.params is not None and c.old_params != c.params
                      else f"{c.params if c.params is not None else c.old_params:,}")
            what = [c.change] + [d for d in details(c) if not d.startswith(("shape ", "params ", "["))]
            name = f"`{c.old_name}` → `{c.name}`" if c.old_name else f"`{c.name}`"
            lines.append(f"| {MARKS[c.change]} | {_cell(name)} | {_cell(_kind_op(c).replace(' -> ', ' → '))} | "
                         f"{_cell('; '.join(what).replace(' -> ', ' → '))} | {shape} | {params} |")
    return "\n".join(lines) + "\n"


def to_json_text(diff: SpecDiff) -> str:
    return json.dumps(to_dict(diff), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_dict(diff: SpecDiff) -> dict:
    """The JSON form: stable keys, every field of the value (from_dict reads it back)."""
    return {
        "format": JSON_FORMAT, "same": diff.same,
        "model": {"old": diff.old_model, "new": diff.new_model},
        "doc": {"old": diff.old_doc, "new": diff.new_doc},
        "params": {"old": diff.old_params, "new": diff.new_params, "delta": diff.param_delta},
        "changes": [_change_dict(c) for c in diff.changes],
        "renames": [{"old": o, "new": n} for o, n in diff.renames],
        "edges": {"added": [vars(e) for e in diff.edges_added], "removed": [vars(e) for e in diff.edges_removed]},
    }


def _change_dict(c: NodeChange) -> dict:
    out = {k: getattr(c, k) for k in ("change", "name", "kind", "op", "old_name", "old_kind", "old_op", "old_params",
                                      "params", "anonymous")}
    out["args"] = [{"name": a.name, "old": a.old, "new": a.new} for a in c.args]
    for key in ("old_inputs", "inputs"):
        value = getattr(c, key)
        out[key] = None if value is None else [{"role": r, "members": list(m)} for r, m in value]
    out["old_shape"] = None if c.old_shape is None else list(c.old_shape)
    out["shape"] = None if c.shape is None else list(c.shape)
    return out


def from_dict(data: dict) -> SpecDiff:
    """The SpecDiff a to_dict() value (or its JSON text, parsed) describes."""
    return SpecDiff(
        data["model"]["old"], data["model"]["new"], data["doc"]["old"], data["doc"]["new"],
        data["params"]["old"], data["params"]["new"], tuple(_change(c) for c in data["changes"]),
        tuple((r["old"], r["new"]) for r in data["renames"]),
        tuple(Edge(**e) for e in data["edges"]["added"]), tuple(Edge(**e) for e in data["edges"]["removed"]))


def _change(d: dict) -> NodeChange:
    inputs = {k: None if d[k] is None else tuple((b["role"], tuple(b["members"])) for b in d[k])
              for k in ("old_inputs", "inputs")}
    shapes = {k: None if d[k] is None else tuple(d[k]) for k in ("old_shape", "shape")}
    plain = {k: d[k] for k in ("change", "name", "kind", "op", "old_name", "old_kind", "old_op", "old_params",
                               "params", "anonymous")}
    return NodeChange(**plain, args=tuple(ArgChange(a["name"], a["old"], a["new"]) for a in d["args"]),
                      **inputs, **shapes)
