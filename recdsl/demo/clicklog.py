"""A synthetic click log for the DIN example (specs/din.rec), used by `recdsl demo`, drawn
from a simulated `World` (recdsl.demo.world: items in topic clusters of a latent space,
users with 2-4 weighted interests). The log has a planted signal that target attention
can use and average pooling blurs:

* A row's history (5..max_len items, oldest first) is drawn mostly from the user's
  interests, by weight, plus some items from neighbouring clusters and popular noise items.
* The candidate item is drawn from one of the user's interests (chosen uniformly, so a
  minor interest is as likely a target as the main one), from another cluster of an
  interest category (a near miss), or from the popularity distribution.
* The click probability is a logistic function of the candidate's cosine similarity to
  the MOST similar history item (a max over the history), plus small effects of gender,
  age and occupation by category, item popularity and a per-user bias. A user with
  several interests clicks items matching ANY one of them; the average similarity to the
  history is diluted by the other interests and the noise items, so the average view
  (avg pooling) is a worse predictor than the max view (DIN attention).

`write_click_log` writes train/valid/test parquet files sharing one `World` (the latent
structure); `generate` draws rows from a world; `oracle_probability` recomputes the true
click probability of rows (the Bayes-optimal score) and `history_similarity` the max and
mean similarity of the candidate to the history (the attention and the pooling views).

Columns (as specs/din.rec names them): user_id int64, gender string "M"/"F", age float32
(years, 18-70), occupation int64 (0..20), genres list<string> (1-3 names of
specs/genres.txt), item_id int64, item_cate int64 (0..19), hist_items list<int64>,
hist_cates list<int64> (the categories of hist_items), ctr int8 (the label). Ids start
at 1; every list is non-empty.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recdsl.demo.world import CLUSTERS_PER_CATE, GENRES, MAX_INTERESTS, World, make_world

__all__ = [
    "SCHEMA",
    "MIN_LEN",
    "generate",
    "write_click_log",
    "oracle_probability",
    "history_similarity",
]

MIN_LEN = 5
# History: share of noise items (popularity draws), share of interest draws landing in
# another cluster of the interest's category.
_P_HIST_NOISE, _P_HIST_NEIGHBOUR = 0.20, 0.15
# Candidate: from an interest cluster, from another cluster of an interest category, else
# from the popularity distribution.
_P_CAND_INTEREST, _P_CAND_NEAR = 0.35, 0.25
# Click logit = _SLOPE * (max similarity - _CENTRE) + side effects.
_SLOPE, _CENTRE = 7.0, 0.78
_POP_COEF = 0.25

SCHEMA = pa.schema([
    ("user_id", pa.int64()),
    ("gender", pa.string()),
    ("age", pa.float32()),
    ("occupation", pa.int64()),
    ("genres", pa.list_(pa.string())),
    ("item_id", pa.int64()),
    ("item_cate", pa.int64()),
    ("hist_items", pa.list_(pa.int64())),
    ("hist_cates", pa.list_(pa.int64())),
    ("ctr", pa.int8()),
])


# ---------------------------------------------------------------------------- sampling

def _draw_in_clusters(world: World, clusters: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One item index per cluster id, by popularity rank within the cluster."""
    size = world.cluster_size[clusters]
    rank = np.minimum((size * rng.random(len(clusters)) ** 2).astype(np.int64), size - 1)
    return world.cluster_items[clusters, rank]


def _draw_popular(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    clusters = np.searchsorted(world.cluster_cdf, rng.random(n), side="right")
    return _draw_in_clusters(world, np.minimum(clusters, world.n_clusters - 1), rng)


def _neighbour(clusters: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another cluster of the same category."""
    shift = rng.integers(1, CLUSTERS_PER_CATE, len(clusters))
    cate, topic = np.divmod(clusters, CLUSTERS_PER_CATE)
    return cate * CLUSTERS_PER_CATE + (topic + shift) % CLUSTERS_PER_CATE


def _pick_interest(world: World, users: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The interest slot whose cumulative weight first exceeds u (per element)."""
    cdf = world.user_interest_cdf
    k = np.zeros(len(users), np.int64)
    for col in range(MAX_INTERESTS - 1):
        k += u >= cdf[users, col]
    return np.minimum(k, world.user_n_interests[users] - 1)


def _pair_sim(world: World, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of item indices a[i] and b[i]."""
    if world.sim is not None:
        return world.sim[a, b]
    out = np.empty(len(a), np.float32)
    step = 1 << 18
    for i in range(0, len(a), step):
        out[i:i + step] = np.einsum("nd,nd->n", world.item_vec[a[i:i + step]], world.item_vec[b[i:i + step]])
    return out


def _history_sims(world, target, hist, offsets):
    lengths = np.diff(offsets)
    sims = _pair_sim(world, np.repeat(target, lengths), hist)
    starts = offsets[:-1]
    return (np.maximum.reduceat(sims, starts),
            np.add.reduceat(sims.astype(np.float64), starts) / lengths)


def _click_logit(world, users, target, female, age, occupation, max_sim):
    cate = world.item_cate[target]
    sign = np.where(female, 1.0, -1.0)
    return (_SLOPE * (max_sim - _CENTRE)
            + world.user_bias[users]
            + world.cate_gender[cate] * sign
            + world.cate_age[cate] * (age - 40.0) / 15.0
            + world.occupation_bias[occupation]
            + _POP_COEF * world.item_pop[target])


def _list_array(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


def generate(n_rows: int, rng: np.random.Generator, world: World) -> pa.Table:
    """Draw `n_rows` independent impressions from `world` (schema: SCHEMA)."""
    n = int(n_rows)
    users = np.minimum(np.searchsorted(world.user_cdf, rng.random(n), side="right"), world.n_users - 1)

    # History: lengths MIN_LEN..max_len, items from the user's interests by weight, some
    # from a neighbouring cluster, some popular noise.
    lo = min(MIN_LEN, world.max_len)
    lengths = rng.integers(lo, world.max_len + 1, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    m = int(offsets[-1])
    eu = np.repeat(users, lengths)
    slot = _pick_interest(world, eu, rng.random(m))
    clusters = world.user_interests[eu, slot]
    neighbour = rng.random(m) < _P_HIST_NEIGHBOUR
    clusters[neighbour] = _neighbour(clusters[neighbour], rng)
    hist = _draw_in_clusters(world, clusters, rng)
    noise = rng.random(m) < _P_HIST_NOISE
    hist[noise] = _draw_popular(world, int(noise.sum()), rng)

    # Candidate: an interest (uniform over the user's interests), a near miss, or popular.
    kind = rng.random(n)
    slot = (rng.random(n) * world.user_n_interests[users]).astype(np.int64)
    cand_clusters = world.user_interests[users, slot]
    near = (kind >= _P_CAND_INTEREST) & (kind < _P_CAND_INTEREST + _P_CAND_NEAR)
    cand_clusters[near] = _neighbour(cand_clusters[near], rng)
    target = _draw_in_clusters(world, cand_clusters, rng)
    popular = kind >= _P_CAND_INTEREST + _P_CAND_NEAR
    target[popular] = _draw_popular(world, int(popular.sum()), rng)

    female = world.user_gender[users].astype(bool)
    age = world.user_age[users]
    occupation = world.user_occupation[users]
    max_sim, _ = _history_sims(world, target, hist, offsets)
    logit = _click_logit(world, users, target, female, age, occupation, max_sim)
    click = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)

    # Genres of each row's user, as list<string>.
    g_off = world.user_genre_offsets
    g_len = (g_off[1:] - g_off[:-1])[users]
    row_g_off = np.zeros(n + 1, np.int64)
    np.cumsum(g_len, out=row_g_off[1:])
    g_idx = np.repeat(g_off[users] - row_g_off[:-1], g_len) + np.arange(int(row_g_off[-1]))
    genre_names = pa.DictionaryArray.from_arrays(
        pa.array(world.user_genre_values[g_idx].astype(np.int32)), pa.array(list(GENRES), pa.string())
    ).cast(pa.string())
    gender = pa.DictionaryArray.from_arrays(
        pa.array(female.astype(np.int8)), pa.array(["M", "F"], pa.string())).cast(pa.string())

    columns = [
        pa.array(users.astype(np.int64) + 1),
        gender,
        pa.array(age.astype(np.float32)),
        pa.array(occupation.astype(np.int64)),
        _list_array(row_g_off, genre_names),
        pa.array(target.astype(np.int64) + 1),
        pa.array(world.item_cate[target].astype(np.int64)),
        _list_array(offsets, pa.array(hist.astype(np.int64) + 1)),
        _list_array(offsets, pa.array(world.item_cate[hist].astype(np.int64))),
        pa.array(click),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


# ---------------------------------------------------------------------------- analysis

def _list_parts(column) -> tuple[np.ndarray, np.ndarray]:
    """(offsets [n + 1], flat values) of a list column, chunked or sliced."""
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return offsets, values


def history_similarity(table: pa.Table, world: World) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the candidate's max and mean latent similarity to the history items:
    the view target attention can reach and the view average pooling gets."""
    target = table.column("item_id").to_numpy() - 1
    offsets, hist = _list_parts(table.column("hist_items"))
    return _history_sims(world, target, hist - 1, offsets)


def oracle_probability(table: pa.Table, world: World) -> np.ndarray:
    """The true click probability of each row (what the label was drawn from)."""
    users = table.column("user_id").to_numpy() - 1
    target = table.column("item_id").to_numpy() - 1
    female = pc.equal(table.column("gender"), "F").to_numpy(zero_copy_only=False)
    age = table.column("age").to_numpy()
    occupation = table.column("occupation").to_numpy()
    max_sim, _ = history_similarity(table, world)
    logit = _click_logit(world, users, target, female, age, occupation, max_sim)
    return 1.0 / (1.0 + np.exp(-logit))


# ---------------------------------------------------------------------------- files

def write_click_log(out_dir: str | Path, *, users: int = 5_000, items: int = 2_000,
                    rows_train: int = 200_000, rows_valid: int = 20_000, rows_test: int = 20_000,
                    seed: int = 0, max_len: int = 50) -> dict[str, Path]:
    """Write out_dir/{train,valid,test}.parquet (row groups of 8192) drawn from one world;
    returns {"train": path, "valid": path, "test": path}. Deterministic given the seed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world_seed, *split_seeds = np.random.SeedSequence(seed).spawn(4)
    world = make_world(users=users, items=items, seed=np.random.default_rng(world_seed), max_len=max_len)
    paths: dict[str, Path] = {}
    for (name, rows), ss in zip((("train", rows_train), ("valid", rows_valid), ("test", rows_test)),
                                split_seeds):
        table = generate(rows, np.random.default_rng(ss), world)
        path = out / f"{name}.parquet"
        pq.write_table(table, path, row_group_size=8192)
        paths[name] = path
    return paths
