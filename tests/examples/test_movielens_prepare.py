"""examples/movielens/prepare.py: the MovieLens-100k CTR task, from GroupLens or RecBole files.

(a) exact rows, histories, truncation, split and labels on a tiny hand-made data set;
(b) the same data in RecBole's atomic format gives byte-identical files;
(c) the real data (when /work/shared/datasets/ml-100k is there): the peer's counts, every
    row equal to a line-by-line transliteration of the peer script (pandas -> plain Python),
    hand-checked first rows of user 1, and the same output from the data rewritten as
    GroupLens files;
(d) errors: a message naming the file (and line), exit status 2, no traceback.
Also: the three example specs check cleanly and name only Parquet columns.
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "movielens"
SCRIPT = EXAMPLE / "prepare.py"
REAL = (REPO / ".." / "shared" / "datasets" / "ml-100k").resolve()

_spec = importlib.util.spec_from_file_location("movielens_prepare", SCRIPT)
prepare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prepare)

GENRES = prepare.GENRES
COLUMNS = prepare.COLUMNS
SPLITS = ("train", "valid", "test")


# ----------------------------------------------------------------------------- tiny data set
# items: id -> (GroupLens title, release date, genres); the atomic form is derived below
ITEMS = {
    1: ("Toy Story (1995)", "01-Jan-1995", ["Animation", "Children's", "Comedy"]),
    2: ("GoldenEye (1995)", "01-Jan-1995", ["Action", "Adventure", "Thriller"]),
    3: ("unknown", "", ["unknown"]),                                   # RecBole: year "unkonwn"
    4: ("Land Before Time III: The Time of the Great Giving (1995) (V)", "01-Jan-1995",
        ["Animation", "Children's"]),                                  # year "V", as RecBole
    5: ("Blade Runner (1982)", "01-Jan-1982", ["Film-Noir", "Sci-Fi"]),
    6: ("Nameless ()", "", []),                                        # no genre, no year
    7: ("Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)", "01-Jan-1995", ["Drama"]),
    **{i: (f"Film {i} (19{50 + i})", f"4-Feb-19{50 + i}", [GENRES[i % 19]]) for i in range(8, 41)},
}
USERS = {1: (24, "M", "technician", "85711"), 2: (53, "F", "other", "94043"),
         3: (23, "M", "writer", "T8H1N"), 4: (33, "F", "artist", "00501"),
         5: (40, "M", "none", "10001")}                                # user 5 never rates
# (user, item, rating, timestamp), deliberately not in time order; ties at 100, 120, 150
RATINGS = [
    (1, 10, 5, 150), (1, 5, 5, 100), (1, 2, 3, 100), (1, 12, 4, 170), (1, 1, 4, 90),
    (1, 3, 1, 110), (1, 6, 2, 120), (1, 4, 4, 120), (1, 7, 5, 130), (1, 8, 3, 140),
    (1, 9, 4, 150), (1, 11, 2, 160),
    (2, 1, 2, 50), (2, 5, 4, 40), (2, 3, 5, 60),
    (3, 2, 4, 10),
    *[(4, 11 + k, 1 + k % 5, 1000 + k) for k in range(30)],
]


def recbole_year(title: str, date: str) -> str:
    return prepare._release_year_from_title(title, date)


def write_grouplens(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS))
    (folder / "u.user").write_text("".join(f"{u}|{a}|{g}|{o}|{z}\n" for u, (a, g, o, z) in USERS.items()))
    lines = []
    for i, (title, date, genres) in ITEMS.items():
        flags = "|".join("1" if g in genres else "0" for g in GENRES)
        lines.append(f"{i}|{title}|{date}||http://us.imdb.com/M/title-exact?{i}|{flags}\n")
    (folder / "u.item").write_bytes("".join(lines).encode("latin-1"))
    return folder


def write_atomic(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        + "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in RATINGS))
    (folder / "ml-100k.user").write_text(
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        + "".join(f"{u}\t{a}\t{g}\t{o}\t{z}\n" for u, (a, g, o, z) in USERS.items()))
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "".join(f"{i}\t{title.rsplit(' (', 1)[0]}\t{recbole_year(title, date)}\t{' '.join(g for g in genres if g)}\n"
                  for i, (title, date, genres) in ITEMS.items()))
    return folder


def run(data: Path, out: Path, *extra: str) -> int:
    return prepare.main([str(data), "-o", str(out), "-q", *extra])


def rows(out: Path, split: str, user: int | None = None) -> list[dict]:
    table = pq.read_table(out / f"{split}.parquet")
    if user is not None:
        table = table.filter(pc.equal(table["user_id"], user))
    return table.to_pylist()


def first_genre(item: int) -> str:
    return (ITEMS[item][2] or ["unknown"])[0]


# ----------------------------------------------------------------------------- (a) exact rows
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny")
    data = write_grouplens(base / "grouplens")
    out = base / "out"
    assert run(data, out, "--max-len", "3") == 0
    return base, out


def test_rows_histories_truncation_split_and_labels(tiny):
    _, out = tiny
    got = {s: [(r["user_id"], r["item_id"], r["timestamp"], r["rating"], r["label"], r["hist_item_id"],
                r["hist_genre"], r["hist_len"]) for r in rows(out, s)] for s in SPLITS}
    # user 1 in (timestamp, item_id) order: ties at 100 (2 < 5), 120 (4 < 6), 150 (9 < 10)
    u1 = [(1, 90, 4), (2, 100, 3), (5, 100, 5), (3, 110, 1), (4, 120, 4), (6, 120, 2), (7, 130, 5),
          (8, 140, 3), (9, 150, 4), (10, 150, 5), (11, 160, 2), (12, 170, 4)]
    items1 = [i for i, _, _ in u1]

    def row(user, k, seq, ts, rating):
        hist = [i for i, _, _ in seq][max(0, k - 3):k]        # --max-len 3: the newest three
        return (user, seq[k][0], ts, rating, int(rating >= 4), hist, [first_genre(i) for i in hist], len(hist))

    rows1 = [row(1, k, u1, ts, r) for k, (_, ts, r) in enumerate(u1)]
    assert rows1[5][5] == [5, 3, 4] and rows1[5][6] == ["Film-Noir", "unknown", "Animation"]
    u2 = [(5, 40, 4), (1, 50, 2), (3, 60, 5)]
    rows2 = [row(2, k, u2, ts, r) for k, (_, ts, r) in enumerate(u2)]
    u4 = [(11 + k, 1000 + k, 1 + k % 5) for k in range(30)]
    rows4 = [row(4, k, u4, ts, r) for k, (_, ts, r) in enumerate(u4)]
    # test and valid take ceil(n * 0.1) each: n = 12 -> 2/2, n = 3 -> 1/1 (train 1),
    # n = 1 -> the one rating is test, n = 30 -> 3/3
    assert got["train"] == rows1[:8] + rows2[:1] + rows4[:24]
    assert got["valid"] == rows1[8:10] + rows2[1:2] + rows4[24:27]
    assert got["test"] == rows1[10:] + rows2[2:] + [(3, 2, 10, 4, 1, [], [], 0)] + rows4[27:]
    assert items1 == [1, 2, 5, 3, 4, 6, 7, 8, 9, 10, 11, 12]


def test_user_and_item_columns(tiny):
    _, out = tiny
    train = rows(out, "train")
    first = train[0]
    assert first == {
        "label": 1, "rating": 4, "timestamp": 90, "user_id": 1, "gender": "M", "age": 24,
        "occupation": "technician", "zip": "85711", "zip3": "857", "item_id": 1,
        "genres": ["Animation", "Children's", "Comedy"], "item_genre": "Animation",
        "release_year": "1995", "hist_item_id": [], "hist_genre": [], "hist_len": 0, "liked": 1, "loved": 0}
    assert all(r["liked"] == int(r["rating"] >= 4) and r["loved"] == int(r["rating"] == 5) for r in train)
    assert any(r["loved"] for r in train) and all(r["liked"] for r in train if r["loved"])
    by_item = {r["item_id"]: r for r in train if r["user_id"] == 1}
    assert (by_item[3]["genres"], by_item[3]["item_genre"], by_item[3]["release_year"]) == (
        ["unknown"], "unknown", "unkonwn")                      # RecBole's spelling, kept
    assert (by_item[4]["release_year"], by_item[5]["genres"]) == ("V", ["Film-Noir", "Sci-Fi"])
    assert (by_item[6]["genres"], by_item[6]["item_genre"], by_item[6]["release_year"]) == (
        ["unknown"], "unknown", "unknown")                      # no flags, no year
    assert by_item[7]["release_year"] == "1995"
    user4 = next(r for r in train if r["user_id"] == 4)
    assert (user4["zip"], user4["zip3"], user4["gender"]) == ("00501", "005", "F")


def test_parquet_types_and_csv(tiny):
    _, out = tiny
    schema = pq.read_schema(out / "train.parquet")
    assert schema.names == COLUMNS
    types = {f.name: str(f.type) for f in schema}
    for c in ("label", "rating", "timestamp", "user_id", "age", "item_id", "hist_len", "liked", "loved"):
        assert types[c] == "int64", c
    for c in ("gender", "occupation", "zip", "zip3", "item_genre", "release_year"):
        assert types[c] == "string", c
    assert types["hist_item_id"].startswith("list<") and "int64" in types["hist_item_id"]
    assert "string" in types["genres"] and "string" in types["hist_genre"]
    lines = (out / "train.csv").read_text().split("\n")
    assert lines[0] == ",".join(COLUMNS) and lines[-1] == ""
    assert lines[1] == "1,4,90,1,M,24,technician,85711,857,1,Animation^Children's^Comedy,Animation,1995,,,0,1,0"
    assert lines[4] == "0,1,110,1,M,24,technician,85711,857,3,unknown,unknown,unkonwn,1^2^5,Animation^Action^Film-Noir,3,0,0"
    assert lines[6] == "0,2,120,1,M,24,technician,85711,857,6,unknown,unknown,unknown,5^3^4,Film-Noir^unknown^Animation,3,0,0"
    for s in SPLITS:
        assert len((out / f"{s}.csv").read_text().splitlines()) == 1 + len(rows(out, s))


def test_meta(tiny):
    _, out = tiny
    meta = json.loads((out / "meta.json").read_text())
    assert meta["format"] == "grouplens" and meta["max_len"] == 3 and meta["label"] == "rating >= 4"
    assert {s: meta["splits"][s]["rows"] for s in SPLITS} == {"train": 33, "valid": 6, "test": 7}
    train_labels = [r["label"] for r in rows(out, "train")]
    assert meta["splits"]["train"]["pos_rate"] == round(sum(train_labels) / len(train_labels), 4)
    vocab = meta["vocab_from_train"]
    assert (vocab["user_id"], vocab["gender"], vocab["item_id"]) == (3, 2, 8 + 24)
    assert vocab["zip3"] == 3 and vocab["occupation"] == 3


def test_max_len_default_keeps_everything_here(tiny, tmp_path):
    base, _ = tiny
    out = tmp_path / "out"
    assert run(base / "grouplens", out) == 0
    test = rows(out, "test")
    u4 = [r for r in test if r["user_id"] == 4]
    assert u4[-1]["hist_item_id"] == list(range(11, 40)) and u4[-1]["hist_len"] == 29


# ----------------------------------------------------------------------------- (b) same from atomic
def test_atomic_format_gives_identical_files(tiny, tmp_path):
    base, out_gl = tiny
    atomic = write_atomic(tmp_path / "atomic")
    out = tmp_path / "out"
    assert run(atomic, out, "--max-len", "3") == 0
    for s in SPLITS:
        assert (out / f"{s}.csv").read_bytes() == (out_gl / f"{s}.csv").read_bytes(), s
        assert pq.read_table(out / f"{s}.parquet").equals(pq.read_table(out_gl / f"{s}.parquet")), s
    meta, meta_gl = (json.loads((o / "meta.json").read_text()) for o in (out, out_gl))
    assert (meta.pop("format"), meta_gl.pop("format")) == ("atomic", "grouplens")
    meta.pop("source"), meta_gl.pop("source")
    assert meta == meta_gl


def test_grouplens_files_win_when_both_sets_are_there(tmp_path):
    data = write_atomic(write_grouplens(tmp_path / "both"))
    assert run(data, tmp_path / "out") == 0
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["format"] == "grouplens"


# ----------------------------------------------------------------------------- (c) real data
def peer_transliteration(src: Path, max_len: int = 50) -> dict[str, list[tuple]]:
    """/work/shared/peers/prepare_ml100k.py step by step, with plain Python for pandas: the
    rows of each split as tuples in COLUMNS order."""
    def read_atomic(path):
        lines = [l for l in path.read_text(encoding="utf-8").split("\n") if l]
        cols = [c.split(":")[0] for c in lines[0].split("\t")]
        return [dict(zip(cols, l.split("\t"))) for l in lines[1:]]

    users = {}
    for u in read_atomic(src / "ml-100k.user"):
        z = u["zip_code"]
        users[int(u["user_id"])] = (u["gender"], int(u["age"]), u["occupation"], z, z[:3])
    items = {}
    for it in read_atomic(src / "ml-100k.item"):
        g = it["class"].split()
        items[int(it["item_id"])] = (g if g else ["unknown"], g[0] if g else "unknown",
                                     it["release_year"] or "unknown")
    df = []
    for r in read_atomic(src / "ml-100k.inter"):
        rating = int(float(r["rating"]))
        df.append((int(r["user_id"]), int(float(r["timestamp"])), int(r["item_id"]), rating))
    df.sort(key=lambda r: r[:3])                                  # stable, like mergesort
    out = {s: [] for s in SPLITS}
    start = 0
    while start < len(df):
        end = start
        while end < len(df) and df[end][0] == df[start][0]:
            end += 1
        ids = [r[2] for r in df[start:end]]
        n = len(ids)
        n_test, n_valid = math.ceil(n * 0.1), math.ceil(n * 0.1)
        n_train = n - n_test - n_valid
        for k, (u, ts, i, rating) in enumerate(df[start:end]):
            h = ids[max(0, k - max_len):k]
            split = "train" if k < n_train else ("valid" if k < n_train + n_valid else "test")
            out[split].append((int(rating >= 4), rating, ts, u, *users[u], i,
                               *items[i], h, [items[x][1] for x in h], len(h), int(rating >= 4), int(rating == 5)))
        start = end
    return out


needs_real = pytest.mark.skipif(not (REAL / "ml-100k.inter").is_file(),
                                reason=f"MovieLens-100k atomic files not found at {REAL}")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "out"
    assert run(REAL, out) == 0
    return out


@needs_real
def test_real_counts_label_rates_and_vocab(real):
    meta = json.loads((real / "meta.json").read_text())
    assert {s: meta["splits"][s]["rows"] for s in SPLITS} == {"train": 79_122, "valid": 10_439, "test": 10_439}
    assert {s: meta["splits"][s]["pos_rate"] for s in SPLITS} == {"train": 0.5729, "valid": 0.4861, "test": 0.4766}
    assert meta["vocab_from_train"] == {"user_id": 943, "gender": 2, "age": 61, "occupation": 21, "zip": 795,
                                        "zip3": 382, "item_id": 1610, "item_genre": 18, "release_year": 73,
                                        "genres": 19}
    assert all(meta["splits"][s]["users"] == 943 for s in SPLITS)


@needs_real
def test_real_rows_equal_the_peer_script(real):
    expected = peer_transliteration(REAL)
    for s in SPLITS:
        table = pq.read_table(real / f"{s}.parquet")
        assert table.num_rows == len(expected[s]), s
        columns = list(zip(*expected[s]))
        for k, c in enumerate(COLUMNS):
            assert table.column(c).combine_chunks().equals(pa.array(columns[k], table.schema.field(c).type)), (s, c)


@needs_real
def test_real_first_rows_of_user_1_by_hand(real):
    inter = [l.split("\t") for l in (REAL / "ml-100k.inter").read_text().split("\n")[1:] if l]
    mine = sorted((int(t), int(i), int(r)) for u, i, r, t in inter if u == "1")   # (timestamp, item_id)
    train = rows(real, "train", user=1)
    assert len(mine) == 272 and len(train) == 272 - 28 - 28
    for k in range(5):
        ts, item, rating = mine[k]
        assert (train[k]["timestamp"], train[k]["item_id"], train[k]["rating"], train[k]["label"]) == (
            ts, item, rating, int(rating >= 4))
        assert train[k]["hist_item_id"] == [i for _, i, _ in mine[:k]]
    # user 1's first two ratings share a timestamp: item 168 comes before 172
    assert [r["item_id"] for r in train[:2]] == [168, 172] and train[0]["timestamp"] == train[1]["timestamp"]
    assert train[1]["hist_genre"] == ["Comedy"]
    assert (train[0]["gender"], train[0]["age"], train[0]["occupation"], train[0]["zip"], train[0]["zip3"]) == (
        "M", 24, "technician", "85711", "857")
    test = rows(real, "test", user=1)
    assert test[-1]["hist_item_id"] == [i for _, i, _ in mine[-51:-1]]          # the newest 50


@needs_real
def test_real_data_as_grouplens_files_gives_the_same_output(real, tmp_path):
    """Rewrite the atomic files in GroupLens layout (title + " (year)", genre flags) and compare."""
    def atomic(name):
        lines = [l for l in (REAL / name).read_text(encoding="utf-8").split("\n") if l]
        return [l.split("\t") for l in lines[1:]]

    gl = tmp_path / "gl"
    gl.mkdir()
    (gl / "u.data").write_text("".join("\t".join(r) + "\n" for r in atomic("ml-100k.inter")))
    (gl / "u.user").write_text("".join("|".join(r) + "\n" for r in atomic("ml-100k.user")))
    lines = []
    for item_id, title, year, cls in atomic("ml-100k.item"):
        full = title if year == "unkonwn" else f"{title} ({year})"   # item 267: GroupLens title "unknown"
        flags = "|".join("1" if g in cls.split() else "0" for g in GENRES)
        lines.append(f"{item_id}|{full}|{'' if year == 'unkonwn' else '01-Jan-' + year}||http://x|{flags}\n")
    (gl / "u.item").write_bytes("".join(lines).encode("latin-1"))
    out = tmp_path / "out"
    assert run(gl, out) == 0
    for s in SPLITS:
        assert (out / f"{s}.csv").read_bytes() == (real / f"{s}.csv").read_bytes(), s


# ----------------------------------------------------------------------------- (d) errors
def test_missing_files_exit_2_with_a_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "u.data").write_text("1\t1\t5\t1\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(empty), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for name in ("u.data", "u.user", "u.item", "ml-100k.inter", "ml-100k.user", "ml-100k.item"):
        assert name in proc.stderr
    assert "it has only u.data" in proc.stderr and "ml-100k.zip" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_no_such_directory(tmp_path, capsys):
    assert run(tmp_path / "nope", tmp_path / "out") == 2
    assert "no such directory" in capsys.readouterr().err


@pytest.mark.parametrize("fmt, name, text, where, what", [
    ("grouplens", "u.data", "1\t1\t5\t10\n1\t2\t5\n", "u.data:2:", "expected 4"),
    ("grouplens", "u.data", "1\t1\t5\t10\n1\t2\tfive\t11\n", "u.data:2:", "rating 'five' is not a number"),
    ("grouplens", "u.data", "1\t1\t5\t10\n1\t999\t5\t11\n", "u.data:2:", "item 999 is not in the item file"),
    ("grouplens", "u.user", "1|24|M|technician|85711\n1|25|F|other|94043\n", "u.user:2:",
     "user 1 appears twice (first at line 1)"),
    ("grouplens", "u.item", "1|Toy Story (1995)|01-Jan-1995||x|0|1\n", "u.item:1:", "expected 24"),
    ("atomic", "ml-100k.user", "user_id:token\tage:token\n1\t24\n", "ml-100k.user:1:", "lacks column(s) gender"),
    ("atomic", "ml-100k.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t5\n",
     "ml-100k.inter:2:", "expected 4 tab-separated fields"),
    ("atomic", "ml-100k.item", "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                               "1\tToy Story\t1995\tAnimation Childrens\n", "ml-100k.item:2:", "unknown genre 'Childrens'"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, capsys, fmt, name, text, where, what):
    data = (write_grouplens if fmt == "grouplens" else write_atomic)(tmp_path / "data")
    (data / name).write_text(text)
    assert run(data, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert where in err and what in err, err
    assert not (tmp_path / "out").exists()


def test_existing_output_needs_force(tiny, tmp_path, capsys):
    base, _ = tiny
    out = tmp_path / "out"
    assert run(base / "grouplens", out) == 0
    assert run(base / "grouplens", out) == 2
    assert "pass --force" in capsys.readouterr().err
    assert run(base / "grouplens", out, "--force") == 0


# ----------------------------------------------------------------------------- the specs
@pytest.mark.parametrize("name", ["din", "avg", "mlp"])
def test_example_specs_check_and_use_parquet_columns(name, tiny):
    recdsl = pytest.importorskip("recdsl")
    spec = recdsl.typecheck(EXAMPLE / f"{name}.rec")
    assert not spec.warnings, [w.message for w in spec.warnings]
    _, out = tiny
    columns = set(pq.read_schema(out / "train.parquet").names)
    features = {n.name for n in spec.nodes if n.kind == "feature"}
    assert features <= columns, features - columns
    assert [(o.name, o.arg("label")) for o in spec.outputs] == [("ctr", "label")]
    has_history = {"hist_item_id", "hist_genre"} <= features
    assert has_history == (name != "mlp")
    ops = {n.name: n.op for n in spec.nodes}
    assert ops.get("interest") == {"din": "din", "avg": "avg", "mlp": None}[name]
