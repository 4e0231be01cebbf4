"""The multi-task half of the model zoo (specs/zoo/{shared_bottom,mmoe,ple,esmm,pepnet}.rec): each spec
checks without warnings, builds, trains a few full-batch steps through recdsl's own compile
(each output's head loss and loss weight) with a falling loss on a tiny MovieLens-shaped log with
two labels (liked = rating >= 4, loved = rating == 5), saves and reloads to identical
predictions, and exports a raw-input SavedModel whose scores match the model's, per output.
ESMM's total loss is compared with the formula on a hand-made case."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import recdsl  # noqa: E402
from tests.zoo_check import trains_saves_reloads_and_exports  # noqa: E402

pytestmark = [pytest.mark.slow,  # one short training and one export per spec (~5 s each)
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

ROOT = Path(__file__).resolve().parent.parent
MULTITASK = ("shared_bottom", "mmoe", "ple", "esmm", "pepnet")
SPECS = [ROOT / "specs" / "zoo" / f"{name}.rec" for name in MULTITASK]
GENRES = (ROOT / "specs" / "zoo" / "genres.txt").read_text().split()
ROWS, STEPS = 256, 8


def ratings_log(rows: int, seed: int) -> pa.Table:
    """MovieLens-shaped rows (examples/movielens/prepare.py's columns) whose rating depends on the
    user and the item, with liked = rating >= 4 and loved = rating == 5."""
    r = np.random.default_rng(seed)
    users, items = r.integers(1, 40, rows), r.integers(1, 60, rows)
    genres = [list(r.choice(GENRES, r.integers(1, 4), replace=False)) for _ in range(rows)]
    taste = np.where(users % 3 == 0, 1.5, 0.0) + np.where(items % 2 == 0, 1.5, 0.0)
    rating = np.clip(np.round(1.5 + taste + r.normal(0, 0.7, rows)), 1, 5).astype("int64")
    return pa.table({
        "user_id": users, "gender": r.choice(["M", "F"], rows), "age": r.integers(18, 60, rows),
        "occupation": r.choice(["writer", "student", "artist"], rows),
        "zip": r.choice(["10001", "94110", "60601"], rows), "zip3": r.choice(["100", "941"], rows),
        "item_id": items, "genres": genres, "item_genre": [g[0] for g in genres],
        "release_year": r.choice(["1995", "1996", "1997"], rows),
        "liked": (rating >= 4).astype("int64"), "loved": (rating == 5).astype("int64"),
    })


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, pa.Table]:
    path = tmp_path_factory.mktemp("zoo_multitask") / "train.parquet"
    table = ratings_log(ROWS, 1)
    assert 0 < np.mean(table.column("loved")) < np.mean(table.column("liked")) < 1
    pq.write_table(table, path)
    return path, table


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_doc_names_the_paper_and_year(path):
    doc = recdsl.typecheck(path).doc
    assert re.search(r"\b(19|20)\d\d\b", doc), doc


def test_experts_and_gates_are_nodes_of_the_graph():
    spec = recdsl.typecheck(ROOT / "specs" / "zoo" / "ple.rec")
    gates = {n.name: n for n in spec.nodes if n.op == "mixture"}
    assert set(gates) == {"liked_1", "loved_1", "shared_1", "liked_2", "loved_2"}
    experts = {b.role: b.members for b in gates["shared_1"].inputs}["experts"]
    assert experts == ("liked_expert_1", "loved_expert_1", "shared_expert_1", "shared_expert_2")
    assert {b.role: b.members for b in gates["liked_2"].inputs}["by"] == ("liked_1",)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_trains_saves_reloads_and_exports(path, data, tmp_path):
    parquet, table = data
    trains_saves_reloads_and_exports(path, parquet, table, tmp_path, learning_rate=0.01, steps=STEPS,
                                     min_drop=0.01)


def test_esmm_loss_is_the_papers_by_hand(tmp_path):
    """3 rows with set pCTR and pCVR: the compiled model's loss is
    w_ctr * mean(-[y log pctr + (1-y) log(1-pctr)]) + w_ctcvr * mean(-[z log(pctr pcvr) + (1-z) log(1-pctr pcvr)])
    and pCVR alone adds nothing (weight=0)."""
    import keras

    from recdsl.data.schema import schema_of
    from recdsl.emitter import emit
    from recdsl.training.compilation import compile_model
    from recdsl.training.config import RunConfig

    path = tmp_path / "esmm_toy.rec"
    path.write_text('model esmm_toy "ESMM toy"\n'
                    'feature row : numeric(size=3)\n'
                    'output click = sigmoid(row, weight=0.7)\n'
                    'output convert = sigmoid(row, weight=0)\n'
                    'output both = product(click, convert, weight=1.3)\n')
    spec = recdsl.typecheck(path)
    model = emit(spec)
    pctr, pcvr = np.array([0.9, 0.2, 0.6]), np.array([0.5, 0.3, 0.95])
    x = np.eye(3, dtype="float32")  # one-hot rows: logit_i = w_i + b, set below
    for name, p in (("click", pctr), ("convert", pcvr)):
        head = model.get_layer(name)
        head.logit.kernel.assign(np.log(p / (1 - p))[:, None].astype("float32"))
        head.logit.bias.assign(np.zeros(1, "float32"))
    schema = schema_of(spec)
    compile_model(model, schema.labels, RunConfig(), keras, jit=False)
    y_ctr, y_ctcvr, y_cvr = np.array([1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    targets = {"click": y_ctr[:, None], "convert": y_cvr[:, None], "both": y_ctcvr[:, None]}
    loss = float(model.evaluate({"row": x}, targets, verbose=0, return_dict=True)["loss"])

    def bce(y, p):
        return -np.mean([yi * math.log(pi) + (1 - yi) * math.log(1 - pi) for yi, pi in zip(y, p)])

    expected = 0.7 * bce(y_ctr, pctr) + 1.3 * bce(y_ctcvr, pctr * pcvr)
    assert loss == pytest.approx(expected, rel=1e-5)


def test_pepnet_towers_read_the_personalised_embeddings_and_the_prior():
    """One EPNet gate over every field (domain: the item's genre) feeds both PPNet towers, each gated by
    the user and item ids."""
    spec = recdsl.typecheck(ROOT / "specs" / "zoo" / "pepnet.rec")
    epnet = spec.node("personal")
    assert {b.role: b.members for b in epnet.inputs} == {"fields": ("fields",), "by": ("item_genre",)}
    for tower in ("liked_tower", "loved_tower"):
        node = spec.node(tower)
        assert {b.role: b.members for b in node.inputs} == {"x": ("personal",), "by": ("user_id", "item_id")}
        assert node.arg("stop_gradient") is True and node.arg("scale") == 2.0
