#!/usr/bin/env python3
"""Build the MovieLens-100k CTR task (DIN-style, with behaviour histories) from the raw files.

    python examples/movielens/prepare.py DATA_DIR -o OUT_DIR [--max-len 50] [--force]

DATA_DIR holds either
  - the GroupLens originals of ml-100k.zip: u.data (user item rating timestamp, tab-separated),
    u.user (id|age|gender|occupation|zip), u.item (latin-1; id|title|release date|video
    release date|IMDb URL|19 genre flags), or
  - RecBole's atomic files ml-100k.inter / ml-100k.user / ml-100k.item (tab-separated,
    `name:type` header, genres space-separated in `class`).
Both give the same output, row for row and byte for byte, which is also the data the peer
reference script (prepare_ml100k.py, pandas) builds from the atomic files, plus two label
columns at the end (liked, loved) for the multi-task models.

Output (OUT_DIR):
  {train,valid,test}.parquet  list columns as Arrow lists, ids and counts int64, the rest strings
  {train,valid,test}.csv      list columns joined with '^' (empty cell for an empty history)
  meta.json                   row counts, label rates, vocabulary sizes (from train), ...

Task
- one row per rating; label = 1 if rating >= 4 else 0
- multi-task labels (specs/zoo/esmm.rec, mmoe.rec, ...): liked = rating >= 4 (the same as label),
  loved = rating == 5; loved implies liked, so p(loved) = p(liked) * p(loved | liked) (ESMM)
- user: user_id, gender, age (years, a category), occupation, zip, zip3 (first 3 characters)
- item: item_id, genres (list, GroupLens order; "unknown" when none), item_genre (the first),
  release_year (the year in the title's last parentheses, as RecBole's conversion does)
- hist_item_id / hist_genre: the user's earlier ratings (any rating value) and their first
  genres, in (timestamp, item_id) order, strictly before the row, the newest max_len kept,
  oldest first; hist_len = their number
- split: per user, chronological: the last ceil(n * 0.1) ratings -> test, the ceil(n * 0.1)
  before them -> valid, the rest -> train; histories span the user's whole timeline
- rows of every file sorted by (user_id, timestamp, item_id); no randomness

Needs only the standard library, numpy and pyarrow. Exit status: 0 done, 2 usage or data
error (a message naming the file and line; no traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEP = "^"
GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
          "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Thriller", "War", "Western"]
NO_GENRE = "unknown"        # the peer's value for an item without any genre
NO_YEAR = "unknown"         # the peer's value for an empty release_year
# RecBole's ml-100k.item gives item 267 (GroupLens title "unknown", no release date) the
# release_year "unkonwn" (sic). A GroupLens title without a year maps to the same value so
# that both sources, and the peer's output, agree byte for byte.
RECBOLE_NO_YEAR = "unkonwn"

GROUPLENS = ("u.data", "u.user", "u.item")
ATOMIC = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")
SPLITS = ("train", "valid", "test")
COLUMNS = ["label", "rating", "timestamp", "user_id", "gender", "age", "occupation", "zip", "zip3",
           "item_id", "genres", "item_genre", "release_year", "hist_item_id", "hist_genre", "hist_len",
           "liked", "loved"]
SCHEMA = pa.schema([
    ("label", pa.int64()), ("rating", pa.int64()), ("timestamp", pa.int64()),
    ("user_id", pa.int64()), ("gender", pa.string()), ("age", pa.int64()),
    ("occupation", pa.string()), ("zip", pa.string()), ("zip3", pa.string()),
    ("item_id", pa.int64()), ("genres", pa.list_(pa.string())), ("item_genre", pa.string()),
    ("release_year", pa.string()), ("hist_item_id", pa.list_(pa.int64())),
    ("hist_genre", pa.list_(pa.string())), ("hist_len", pa.int64()),
    ("liked", pa.int64()), ("loved", pa.int64()),
])
VOCAB_COLUMNS = ["user_id", "gender", "age", "occupation", "zip", "zip3", "item_id", "item_genre",
                 "release_year"]


class DataError(Exception):
    """A problem with the input files; printed as one line, exit status 2."""


def _fail(path: Path, line: int | None, message: str) -> DataError:
    return DataError(f"{path}:{line}: {message}" if line is not None else f"{path}: {message}")


def _read_lines(path: Path, encoding: str):
    """(line number, text) of every non-blank line, without the line ending."""
    try:
        with open(path, encoding=encoding, newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise _fail(path, None, f"not {encoding} text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise _fail(path, None, f"cannot read: {e.strerror or e}") from None
    for number, line in enumerate(text.split("\n"), 1):   # not splitlines(): latin-1 has \x85
        line = line[:-1] if line.endswith("\r") else line
        if line.strip():
            yield number, line


def _int(text: str, path: Path, line: int, what: str) -> int:
    """An integer field; a float spelling ("881250949.0") is truncated like pandas' astype."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
        if math.isfinite(value):
            return int(value)
    except ValueError:
        pass
    raise _fail(path, line, f"{what} {text!r} is not a number")


def _split(line: str, sep: str, n: int, path: Path, number: int, layout: str) -> list[str]:
    fields = line.split(sep)
    if len(fields) != n:
        raise _fail(path, number, f"expected {n} {sep!r}-separated fields ({layout}), found {len(fields)}")
    return fields


def _release_year_from_title(title: str, release_date: str) -> str:
    """RecBole's rule: the text in the title's last parentheses ("Toy Story (1995)" -> "1995",
    "... (1995) (V)" -> "V"); else the year of the release date; else RecBole's "unkonwn"."""
    m = re.search(r"\(([^()]*)\)\s*$", title)
    if m:
        return m.group(1).strip()
    m = re.search(r"(\d{4})\s*$", release_date)
    if m:
        return m.group(1)
    return RECBOLE_NO_YEAR


# ----------------------------------------------------------------------------- readers
# Each reader returns (ratings, users, items):
#   ratings: list of (user_id, item_id, rating, timestamp, line number), file order
#   users:   {user_id: (age, gender, occupation, zip)}
#   items:   {item_id: (genres list, release_year)}

def _add_unique(table: dict, key: int, value, seen_at: dict, path: Path, number: int, what: str):
    if key in table:
        raise _fail(path, number, f"{what} {key} appears twice (first at line {seen_at[key]})")
    table[key] = value
    seen_at[key] = number


def read_grouplens(folder: Path):
    data, user_file, item_file = (folder / n for n in GROUPLENS)
    users, seen = {}, {}
    for number, line in _read_lines(user_file, "latin-1"):
        uid, age, gender, occupation, zipc = _split(line, "|", 5, user_file, number,
                                                    "id|age|gender|occupation|zip")
        _add_unique(users, _int(uid, user_file, number, "user id"),
                    (_int(age, user_file, number, "age"), gender, occupation, zipc),
                    seen, user_file, number, "user")
    items, seen = {}, {}
    for number, line in _read_lines(item_file, "latin-1"):
        fields = _split(line, "|", 5 + len(GENRES), item_file, number,
                        "id|title|release date|video release date|IMDb URL|19 genre flags")
        flags = fields[5:]
        if any(f not in ("0", "1") for f in flags):
            raise _fail(item_file, number, "genre flags must be 0 or 1")
        genres = [g for g, f in zip(GENRES, flags) if f == "1"]
        _add_unique(items, _int(fields[0], item_file, number, "item id"),
                    (genres, _release_year_from_title(fields[1], fields[2])),
                    seen, item_file, number, "item")
    ratings = []
    for number, line in _read_lines(data, "latin-1"):
        fields = line.split("\t")
        if len(fields) != 4:
            fields = line.split()
        if len(fields) != 4:
            raise _fail(data, number, f"expected 4 tab-separated fields (user item rating timestamp), "
                                      f"found {len(line.split(chr(9)))}")
        u, i, r, t = fields
        ratings.append((_int(u, data, number, "user id"), _int(i, data, number, "item id"),
                        _int(r, data, number, "rating"), _int(t, data, number, "timestamp"), number))
    return ratings, users, items


def _atomic_rows(path: Path, required: tuple[str, ...]):
    """(column -> field index, [(line number, fields)]) of an atomic file; the `:type` suffixes
    of the header are dropped."""
    lines = _read_lines(path, "utf-8")
    first = next(lines, None)
    if first is None:
        raise _fail(path, None, "empty file (no header line)")
    number, header_line = first
    header = [f.split(":")[0] for f in header_line.split("\t")]
    missing = [c for c in required if c not in header]
    if missing:
        raise _fail(path, number, f"the header lacks column(s) {', '.join(missing)} (found {', '.join(header)})")
    rows = []
    for number, line in lines:
        fields = line.split("\t")
        if len(fields) != len(header):
            raise _fail(path, number, f"expected {len(header)} tab-separated fields, found {len(fields)}")
        rows.append((number, fields))
    return {c: header.index(c) for c in required}, rows


def read_atomic(folder: Path):
    inter, user_file, item_file = (folder / n for n in ATOMIC)
    users, seen = {}, {}
    col, rows = _atomic_rows(user_file, ("user_id", "age", "gender", "occupation", "zip_code"))
    for number, f in rows:
        _add_unique(users, _int(f[col["user_id"]], user_file, number, "user id"),
                    (_int(f[col["age"]], user_file, number, "age"), f[col["gender"]], f[col["occupation"]],
                     f[col["zip_code"]]), seen, user_file, number, "user")
    items, seen = {}, {}
    col, rows = _atomic_rows(item_file, ("item_id", "release_year", "class"))
    for number, f in rows:
        genres = f[col["class"]].split()
        unknown = [g for g in genres if g not in GENRES]
        if unknown:
            raise _fail(item_file, number, f"unknown genre {unknown[0]!r} (expected one of {', '.join(GENRES)})")
        _add_unique(items, _int(f[col["item_id"]], item_file, number, "item id"),
                    (genres, f[col["release_year"]]), seen, item_file, number, "item")
    col, rows = _atomic_rows(inter, ("user_id", "item_id", "rating", "timestamp"))
    cu, ci, cr, ct = (col[c] for c in ("user_id", "item_id", "rating", "timestamp"))
    ratings = [(_int(f[cu], inter, n, "user id"), _int(f[ci], inter, n, "item id"),
                _int(f[cr], inter, n, "rating"), _int(f[ct], inter, n, "timestamp"), n) for n, f in rows]
    return ratings, users, items


def detect(folder: Path) -> str:
    if not folder.is_dir():
        raise DataError(f"{folder}: no such directory")
    if all((folder / n).is_file() for n in GROUPLENS):
        return "grouplens"
    if all((folder / n).is_file() for n in ATOMIC):
        return "atomic"
    have = [n for n in GROUPLENS + ATOMIC if (folder / n).is_file()]
    found = f"; it has only {', '.join(have)}" if have else ""
    raise DataError(f"{folder}: neither the GroupLens ml-100k files ({', '.join(GROUPLENS)}) nor the "
                    f"RecBole atomic files ({', '.join(ATOMIC)}) are there{found}. Download "
                    "https://files.grouplens.org/datasets/movielens/ml-100k.zip and unzip it "
                    "(see examples/movielens/README.md)")


# ----------------------------------------------------------------------------- task
def build(ratings, users, items, rating_file: Path, max_len: int, valid_frac: float, test_frac: float) -> dict:
    """The whole task sorted by (user_id, timestamp, item_id): per-row arrays, user and item
    attributes as codes into small value tables, each row's split and history range."""
    if not ratings:
        raise _fail(rating_file, None, "no ratings")
    for u, i, _, _, number in ratings:
        if u not in users:
            raise _fail(rating_file, number, f"user {u} is not in the user file")
        if i not in items:
            raise _fail(rating_file, number, f"item {i} is not in the item file")
    n = len(ratings)
    user, item, rating, stamp = (np.fromiter((r[k] for r in ratings), np.int64, n) for k in range(4))
    order = np.lexsort((item, stamp, user))          # stable, like the peer's mergesort
    user, item, rating, stamp = user[order], item[order], rating[order], stamp[order]

    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])     # one run per user
    counts = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, counts)
    split = np.empty(n, np.int8)                     # index into SPLITS
    for s, c in zip(starts.tolist(), counts.tolist()):
        n_test = math.ceil(c * test_frac)            # float arithmetic exactly as the peer's
        n_valid = math.ceil(c * valid_frac)
        n_train = c - n_test - n_valid
        k = np.arange(c)
        split[s:s + c] = np.where(k < n_train, 0, np.where(k < n_train + n_valid, 1, 2))

    user_ids, item_ids = sorted(users), sorted(items)
    user_index = {v: k for k, v in enumerate(user_ids)}
    item_index = {v: k for k, v in enumerate(item_ids)}
    genres_of = [items[v][0] or [NO_GENRE] for v in item_ids]
    return {
        "n": n, "split": split, "user": user, "item": item, "rating": rating, "stamp": stamp,
        "label": (rating >= 4).astype(np.int64), "starts": starts, "counts": counts,
        "hist_start": np.arange(n) - np.minimum(pos, max_len),
        "ucode": np.fromiter((user_index[v] for v in user.tolist()), np.int64, n),
        "icode": np.fromiter((item_index[v] for v in item.tolist()), np.int64, n),
        "age_of": np.array([users[v][0] for v in user_ids], np.int64),
        "gender_of": [users[v][1] for v in user_ids],
        "occupation_of": [users[v][2] for v in user_ids],
        "zip_of": [users[v][3] for v in user_ids],
        "zip3_of": [users[v][3][:3] for v in user_ids],
        "genres_of": genres_of,
        "item_genre_of": [g[0] for g in genres_of],
        "release_year_of": [items[v][1] or NO_YEAR for v in item_ids],
    }


def part_table(task: dict, rows: np.ndarray) -> pa.Table:
    """The Arrow table of the rows `rows` (indices into the sorted task)."""
    uc, ic = pa.array(task["ucode"][rows]), pa.array(task["icode"][rows])
    hist_len = rows - task["hist_start"][rows]
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(hist_len, out=offsets[1:])
    flat = np.repeat(task["hist_start"][rows] - offsets[:-1], hist_len) + np.arange(offsets[-1])
    offsets = pa.array(offsets.astype(np.int32))
    item_genre = pa.array(task["item_genre_of"], pa.string())
    user_col = lambda name: pa.array(task[name + "_of"], pa.string()).take(uc)  # noqa: E731
    cols = {
        "label": task["label"][rows], "rating": task["rating"][rows], "timestamp": task["stamp"][rows],
        "user_id": task["user"][rows], "gender": user_col("gender"), "age": task["age_of"][task["ucode"][rows]],
        "occupation": user_col("occupation"), "zip": user_col("zip"), "zip3": user_col("zip3"),
        "item_id": task["item"][rows],
        "genres": pa.array(task["genres_of"], pa.list_(pa.string())).take(ic),
        "item_genre": item_genre.take(ic),
        "release_year": pa.array(task["release_year_of"], pa.string()).take(ic),
        "hist_item_id": pa.ListArray.from_arrays(offsets, pa.array(task["item"][flat])),
        "hist_genre": pa.ListArray.from_arrays(offsets, item_genre.take(pa.array(task["icode"][flat]))),
        "hist_len": hist_len.astype(np.int64),
        "liked": task["label"][rows], "loved": (task["rating"][rows] == 5).astype(np.int64),
    }
    return pa.table([pa.array(cols[f.name], f.type) for f in SCHEMA], schema=SCHEMA)


def _quote(value: str) -> str:
    """A CSV field as Python's csv module (and pandas' to_csv) writes it with minimal quoting."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _joined_histories(task: dict, value_of_row: list[str], max_len: int) -> np.ndarray:
    """For every row, SEP.join of the values of its history rows (an empty string for none):
    one joined string per user, sliced per row."""
    out = np.empty(task["n"], dtype=object)
    for s, c in zip(task["starts"].tolist(), task["counts"].tolist()):
        values = value_of_row[s:s + c]
        joined = SEP.join(values)
        at = [0] * (c + 1)                       # at[k]: where value k starts in `joined`
        for k, v in enumerate(values):
            at[k + 1] = at[k] + len(v) + 1
        for k in range(c):
            a = k - min(k, max_len)
            out[s + k] = joined[at[a]:at[k] - 1] if k > a else ""
    return out


def csv_columns(task: dict, max_len: int) -> list[np.ndarray]:
    """Every row's CSV fields, column by column (COLUMNS order), as object arrays of str."""
    def ints(a):
        return np.array([str(v) for v in a.tolist()], dtype=object)

    def by(codes, values):
        return np.array([_quote(v) for v in values], dtype=object)[codes]

    uc, ic = task["ucode"], task["icode"]
    hist_len = np.arange(task["n"]) - task["hist_start"]
    hist_items = _joined_histories(task, [str(v) for v in task["item"].tolist()], max_len)
    hist_genres = _joined_histories(task, [task["item_genre_of"][c] for c in ic.tolist()], max_len)
    return [
        ints(task["label"]), ints(task["rating"]), ints(task["stamp"]), ints(task["user"]),
        by(uc, task["gender_of"]), ints(task["age_of"][uc]), by(uc, task["occupation_of"]),
        by(uc, task["zip_of"]), by(uc, task["zip3_of"]), ints(task["item"]),
        by(ic, [SEP.join(g) for g in task["genres_of"]]), by(ic, task["item_genre_of"]),
        by(ic, task["release_year_of"]), hist_items,
        np.array([_quote(h) for h in hist_genres.tolist()], dtype=object), ints(hist_len),
        ints(task["label"]), ints((task["rating"] == 5).astype(np.int64)),
    ]


def write_csv(columns: list[np.ndarray], rows: np.ndarray, path: Path) -> None:
    """The peer's CSV (pandas to_csv, index=False): a header, minimal quoting, '\\n' line ends."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(COLUMNS) + "\n")
        lines = map(",".join, zip(*(c[rows].tolist() for c in columns)))
        f.write("".join(line + "\n" for line in lines))


def meta_of(task: dict, parts: dict[str, np.ndarray], source: str, fmt: str, max_len: int,
            valid_frac: float, test_frac: float) -> dict:
    """The peer's meta.json (plus `format`): counts, label rates, vocabulary sizes from train."""
    meta = {"source": source, "format": fmt, "max_len": max_len, "label": "rating >= 4", "sep": SEP,
            "split": f"per-user chronological, valid {valid_frac}, test {test_frac}", "splits": {}}
    train = parts["train"]
    users, items = np.unique(task["ucode"][train]).tolist(), np.unique(task["icode"][train]).tolist()
    vocab = {"user_id": len(users), "gender": len({task["gender_of"][c] for c in users}),
             "age": len({int(task["age_of"][c]) for c in users}),
             "occupation": len({task["occupation_of"][c] for c in users}),
             "zip": len({task["zip_of"][c] for c in users}), "zip3": len({task["zip3_of"][c] for c in users}),
             "item_id": len(items), "item_genre": len({task["item_genre_of"][c] for c in items}),
             "release_year": len({task["release_year_of"][c] for c in items}),
             "genres": len({g for c in items for g in task["genres_of"][c]})}
    meta["vocab_from_train"] = {c: vocab[c] for c in VOCAB_COLUMNS + ["genres"]}
    train_items = np.unique(task["item"][train])
    for name, rows in parts.items():
        empty = len(rows) == 0
        stamps = task["stamp"][rows]
        meta["splits"][name] = {
            "rows": int(len(rows)),
            "pos_rate": None if empty else round(float(task["label"][rows].mean()), 4),
            "users": int(len(np.unique(task["user"][rows]))), "items": int(len(np.unique(task["item"][rows]))),
            "mean_hist_len": None if empty else round(float((rows - task["hist_start"][rows]).mean()), 2),
            "items_unseen_in_train": int((~np.isin(task["item"][rows], train_items)).sum()),
            "time_range": None if empty else [int(stamps.min()), int(stamps.max())],
        }
    return meta


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="prepare.py", description="Build the MovieLens-100k CTR task (train/valid/test Parquet and CSV).")
    ap.add_argument("data_dir", metavar="DATA_DIR", type=Path,
                    help="folder with u.data/u.user/u.item (GroupLens) or ml-100k.inter/.user/.item (RecBole)")
    ap.add_argument("-o", "--out", metavar="OUT_DIR", type=Path, required=True, help="output folder")
    ap.add_argument("--max-len", type=int, default=50, help="history length kept (newest), default 50")
    ap.add_argument("--valid-frac", type=float, default=0.1, help="per-user share for valid (ceil), default 0.1")
    ap.add_argument("--test-frac", type=float, default=0.1, help="per-user share for test (ceil), default 0.1")
    ap.add_argument("--force", action="store_true", help="overwrite existing output files")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    args = ap.parse_args(argv)
    if args.max_len < 1:
        ap.error("--max-len must be at least 1")
    if not (0 <= args.valid_frac < 1 and 0 <= args.test_frac < 1):
        ap.error("--valid-frac and --test-frac must be in [0, 1)")
    t0 = time.perf_counter()
    try:
        fmt = detect(args.data_dir)
        outputs = [args.out / f"{s}.{ext}" for s in SPLITS for ext in ("parquet", "csv")] + [args.out / "meta.json"]
        existing = [p for p in outputs if p.exists()]
        if existing and not args.force:
            raise DataError(f"{existing[0]} exists (and {len(existing) - 1} more output files); "
                            "pass --force to overwrite" if len(existing) > 1 else
                            f"{existing[0]} exists; pass --force to overwrite")
        if fmt == "grouplens":
            ratings, users, items = read_grouplens(args.data_dir)
            rating_file = args.data_dir / GROUPLENS[0]
        else:
            ratings, users, items = read_atomic(args.data_dir)
            rating_file = args.data_dir / ATOMIC[0]
        task = build(ratings, users, items, rating_file, args.max_len, args.valid_frac, args.test_frac)
        parts = {s: np.flatnonzero(task["split"] == k) for k, s in enumerate(SPLITS)}
        meta = meta_of(task, parts, str(args.data_dir), fmt, args.max_len, args.valid_frac, args.test_frac)
        columns = csv_columns(task, args.max_len)
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            for s, rows in parts.items():
                pq.write_table(part_table(task, rows), args.out / f"{s}.parquet")
                write_csv(columns, rows, args.out / f"{s}.csv")
            with open(args.out / "meta.json", "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=2)
                f.write("\n")
        except OSError as e:
            raise DataError(f"{e.filename or args.out}: cannot write: {e.strerror or e}") from None
    except DataError as e:
        print(f"prepare.py: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary(task, meta, fmt, args, time.perf_counter() - t0, len(users), len(items)))
    return 0


def summary(task, meta, fmt, args, seconds, n_users, n_items) -> str:
    name = "GroupLens files" if fmt == "grouplens" else "RecBole atomic files"
    lines = [f"{args.data_dir} ({name}): {task['n']:,} ratings, {n_users:,} users, {n_items:,} items; "
             f"history max_len {args.max_len}",
             f"{'split':<6} {'rows':>8} {'label rate':>10} {'users':>6} {'items':>6} {'mean hist_len':>14}"]
    for s in SPLITS:
        m = meta["splits"][s]
        rate = f"{m['pos_rate']:.4f}" if m["pos_rate"] is not None else "-"
        hl = f"{m['mean_hist_len']:.2f}" if m["mean_hist_len"] is not None else "-"
        lines.append(f"{s:<6} {m['rows']:>8,} {rate:>10} {m['users']:>6,} {m['items']:>6,} {hl:>14}")
    lines.append("vocabulary (train): " + ", ".join(f"{k} {v:,}" for k, v in meta["vocab_from_train"].items()))
    lines.append(f"wrote {args.out}/{{train,valid,test}}.{{parquet,csv}} and meta.json in {seconds:.1f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
