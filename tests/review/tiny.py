"""A small spec and edits of it, for the diff tests. Its parameters, by hand:

    id(buckets=b, dim=d)        (b + 2) * d        user_id 1002 * 8 = 8,016; item_id 502 * 8 = 4,016
    category(size=s, dim=d)     (s + 2) * d        cate 12 * 8 = 96
    mlp(x, units=[u1, u2])      (n + 1) u1 + (u1 + 1) u2, n the width of x
                                deep: n = 2*8 (ids) + 8 (history) + 8 (cate) + 1 (age) = 33,
                                34 * 16 + 17 * 8 = 680
    sigmoid(x)                  n + 1              ctr: concat(deep [8], history [8]) = 16 -> 17
    total                       8,016 + 4,016 + 96 + 680 + 17 = 12,825
"""
from __future__ import annotations

from pathlib import Path

import recdsl

BASE = '''\
# tiny.rec: a small ranking model for the diff tests
model tiny "a small ranking model"

feature user_id : id(buckets=1000, dim=8)
feature item_id : id(buckets=500, dim=8)
feature cate    : category(size=10, dim=8)
feature age     : numeric(normalize=standard)
feature hist    : sequence(of=item_id, max_len=20)

group ids = [user_id, item_id]
pool history = avg(hist)

block deep = mlp([ids, history, cate, age], units=[16, 8])
output ctr = sigmoid(concat(deep, history))
'''
BASE_PARAMS = 12_825


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced; each old must occur exactly once."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def checked(folder: Path, name: str, text: str):
    return recdsl.check(write(folder, name, text))
