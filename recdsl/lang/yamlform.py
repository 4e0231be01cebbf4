"""The YAML form of a spec: the same AST as .rec, one mapping entry per statement.

    model: din_ctr
    doc: CTR ranking with user-interest attention
    spec:
      user_id: {feature: id, buckets: 100000, dim: 16}
      genres: {feature: multi, args: [{category: {vocab_file: genres.txt, dim: 8}}], max_len: 6}
      user: {group: [user_id, gender, age]}
      deep: {block: mlp, args: [fields], units: [256, 128], gate: {poso: {by: [user_id, age]}}}

A statement is `name: {<kind>: <op>, args: [positional...], <kwarg>: <value>...}`, a group is
`name: {group: [members]}`, and a nested call is a one-key mapping: `{op: {args: [...], kwarg:
value}}`, `{op: [positional...]}`, or `{op: {}}`. A plain YAML string is quoted text (ast.Str)
where the op registry declares a str/str_list argument and a bare name (ast.Name) everywhere
else; `!str "text"` and `!ref name` say otherwise, and a `!kw name:` key is a keyword argument
whose name would read as `args` or a statement kind. Only true/false are booleans (YAML 1.2
style), so `vocab: [NO, SE]` stays text. Every node keeps a span into the YAML text.

Written by recdsl.lang.yaml_dump, read by recdsl.lang.yaml_load; the tags, scalar rules and
text slots both use live in recdsl.lang.yaml_dialect.
"""
from __future__ import annotations

from recdsl.lang.yaml_dump import dump_yaml
from recdsl.lang.yaml_load import load_yaml

__all__ = ["dump_yaml", "load_yaml"]
