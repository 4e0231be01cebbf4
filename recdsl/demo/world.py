"""The simulated world behind the demo's click log (recdsl.demo.clicklog): users, items,
topic clusters and the latent interest directions.

* Items live in a latent space. There are 20 categories, each split into 5 topic
  clusters; an item's unit vector is its category direction plus its cluster direction
  plus a little item noise, so items of one cluster are very similar (cosine ~0.85),
  items of one category somewhat similar (~0.4) and other items unrelated (~0).
  Popularity is lognormal across clusters and falls with an item's rank in its cluster.
* Every user has 2-4 interests, each a (category, cluster) pair in distinct categories,
  with unequal weights, plus a gender, an age (18-70), an occupation (0..20), 1-3 genres
  (mostly those of the interest categories), a click bias and an activity level.
* Small effects of gender and age by category and of occupation shift the click logit.

`make_world` draws a `World` (all of the above) from a seed; it is deterministic given the
seed, and every split of a click log is drawn from one world.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GENRES",
    "N_CATES",
    "N_OCCUPATIONS",
    "CLUSTERS_PER_CATE",
    "LATENT_DIM",
    "MAX_INTERESTS",
    "AGE_MIN",
    "AGE_MAX",
    "World",
    "make_world",
]

# specs/genres.txt, in order (a test checks they agree).
GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western", "unknown",
)

N_CATES = 20  # item_cate: category(size=20)
N_OCCUPATIONS = 21  # occupation: category(size=21)
CLUSTERS_PER_CATE = 5
LATENT_DIM = 64
MAX_INTERESTS = 4
AGE_MIN, AGE_MAX = 18, 70

# Latent geometry: squared weights of the category, cluster and item-noise directions.
_W_CATE, _W_CLUSTER, _W_NOISE = 0.40, 0.45, 0.15
_SIM_MATRIX_MAX_ITEMS = 6_000  # precompute the item x item similarity up to this many items


@dataclass(frozen=True, eq=False)
class World:
    """The latent structure shared by every split. Arrays are indexed by id - 1."""

    n_users: int
    n_items: int
    max_len: int
    # items
    item_cate: np.ndarray  # [I] int64, 0..19
    item_cluster: np.ndarray  # [I] int64, 0..99 (category * 5 + topic)
    item_vec: np.ndarray  # [I, d] float32, unit rows
    item_pop: np.ndarray  # [I] float32, standardized log popularity
    cluster_items: np.ndarray  # [C, S] int64 item indices by popularity rank, -1 padding
    cluster_size: np.ndarray  # [C] int64
    cluster_cdf: np.ndarray  # [C] float64, cumulative popularity of clusters
    sim: np.ndarray | None  # [I, I] float32 cosine similarity, None for huge catalogues
    # users
    user_gender: np.ndarray  # [U] int8, 0 = M, 1 = F
    user_age: np.ndarray  # [U] float32
    user_occupation: np.ndarray  # [U] int64
    user_genre_offsets: np.ndarray  # [U + 1] int64 into user_genre_values
    user_genre_values: np.ndarray  # int64 indices into GENRES
    user_interests: np.ndarray  # [U, 4] int64 cluster ids, -1 padding
    user_interest_cdf: np.ndarray  # [U, 4] float64 cumulative interest weights (1.0 padding)
    user_n_interests: np.ndarray  # [U] int64, 2..4
    user_bias: np.ndarray  # [U] float32
    user_cdf: np.ndarray  # [U] float64, cumulative activity (how often a user appears)
    # side effects on the click logit
    cate_gender: np.ndarray  # [20] float32, + for F, - for M
    cate_age: np.ndarray  # [20] float32, per standardized year of age
    occupation_bias: np.ndarray  # [21] float32

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_size)


def make_world(*, users: int = 5_000, items: int = 2_000, seed: int | np.random.Generator = 0,
               max_len: int = 50) -> World:
    """Draw the latent structure: item clusters and vectors, users and their interests."""
    _check_sizes(users=users, items=items, max_len=max_len)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    # The steps draw from rng in this order; reordering them changes every generated log.
    item_cluster, item_rank = _assign_clusters(items, rng)
    item_cate = item_cluster // CLUSTERS_PER_CATE
    cluster_size, cluster_items = _cluster_tables(item_cluster, item_rank)
    item_vec = _item_vectors(item_cate, item_cluster, rng)
    sim = item_vec @ item_vec.T if items <= _SIM_MATRIX_MAX_ITEMS else None
    cluster_cdf, item_pop = _popularity(item_cluster, item_rank, cluster_size, rng)
    user_gender, user_age, user_occupation = _draw_demographics(users, rng)
    user_n_interests, interest_cates, user_interests, user_interest_cdf = _draw_interests(users, rng)
    user_bias, user_cdf = _draw_activity(users, rng)
    genre_offsets, genre_values = _draw_genres(interest_cates, user_n_interests, rng)
    cate_gender, cate_age, occupation_bias = _draw_side_effects(rng)
    return World(
        n_users=users, n_items=items, max_len=max_len,
        item_cate=item_cate, item_cluster=item_cluster, item_vec=item_vec, item_pop=item_pop,
        cluster_items=cluster_items, cluster_size=cluster_size, cluster_cdf=cluster_cdf, sim=sim,
        user_gender=user_gender, user_age=user_age, user_occupation=user_occupation,
        user_genre_offsets=genre_offsets, user_genre_values=genre_values,
        user_interests=user_interests, user_interest_cdf=user_interest_cdf,
        user_n_interests=user_n_interests, user_bias=user_bias, user_cdf=user_cdf,
        cate_gender=cate_gender, cate_age=cate_age, occupation_bias=occupation_bias,
    )


def _check_sizes(*, users: int, items: int, max_len: int) -> None:
    n_clusters = N_CATES * CLUSTERS_PER_CATE
    if items < n_clusters:
        raise ValueError(f"items must be at least {n_clusters}, got {items}")
    if users < 1:
        raise ValueError(f"users must be positive, got {users}")
    if max_len < 1:
        raise ValueError(f"max_len must be positive, got {max_len}")


# ---------------------------------------------------------------------------- items

def _assign_clusters(items: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(cluster id, popularity rank within the cluster) per item: item j of a random
    permutation goes to cluster j % C with rank j // C."""
    n_clusters = N_CATES * CLUSTERS_PER_CATE
    perm = rng.permutation(items)
    j = np.arange(items)
    item_cluster = np.empty(items, np.int64)
    item_cluster[perm] = j % n_clusters
    item_rank = np.empty(items, np.int64)
    item_rank[perm] = j // n_clusters
    return item_cluster, item_rank


def _cluster_tables(item_cluster: np.ndarray, item_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(size [C], item indices by rank [C, S] with -1 padding) of every cluster."""
    n_clusters = N_CATES * CLUSTERS_PER_CATE
    cluster_size = np.bincount(item_cluster, minlength=n_clusters).astype(np.int64)
    cluster_items = np.full((n_clusters, int(cluster_size.max())), -1, np.int64)
    cluster_items[item_cluster, item_rank] = np.arange(len(item_cluster))
    return cluster_size, cluster_items


def _unit_directions(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, LATENT_DIM))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _item_vectors(item_cate: np.ndarray, item_cluster: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit float32 item vectors: category + cluster + item-noise directions, weighted."""
    items = len(item_cluster)
    cate_dir = _unit_directions(N_CATES, rng)
    cluster_dir = _unit_directions(N_CATES * CLUSTERS_PER_CATE, rng)
    noise_dir = _unit_directions(items, rng)
    vec = (np.sqrt(_W_CATE) * cate_dir[item_cate] + np.sqrt(_W_CLUSTER) * cluster_dir[item_cluster]
           + np.sqrt(_W_NOISE) * noise_dir)
    return (vec / np.linalg.norm(vec, axis=1, keepdims=True)).astype(np.float32)


def _popularity(item_cluster: np.ndarray, item_rank: np.ndarray, cluster_size: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative cluster popularity [C], standardized log item popularity [I]).

    Clusters are lognormal; within a cluster of size s, rank r has probability
    sqrt((r+1)/s) - sqrt(r/s) (what floor(s * u**2) draws)."""
    cluster_w = rng.lognormal(0.0, 0.5, N_CATES * CLUSTERS_PER_CATE)
    cluster_p = cluster_w / cluster_w.sum()
    cluster_cdf = np.cumsum(cluster_p)
    cluster_cdf[-1] = 1.0
    s = cluster_size[item_cluster].astype(np.float64)
    within = np.sqrt((item_rank + 1) / s) - np.sqrt(item_rank / s)
    logpop = np.log(cluster_p[item_cluster] * within)
    item_pop = ((logpop - logpop.mean()) / (logpop.std() + 1e-12)).astype(np.float32)
    return cluster_cdf, item_pop


# ---------------------------------------------------------------------------- users

def _draw_demographics(users: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gender int8 [U], age float32 [U], occupation int64 [U])."""
    user_gender = (rng.random(users) < 0.5).astype(np.int8)
    user_age = np.round(AGE_MIN + (AGE_MAX - AGE_MIN) * rng.beta(2.0, 3.5, users)).astype(np.float32)
    occ_p = rng.dirichlet(np.full(N_OCCUPATIONS, 2.0))
    user_occupation = rng.choice(N_OCCUPATIONS, size=users, p=occ_p).astype(np.int64)
    return user_gender, user_age, user_occupation


def _draw_interests(users: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(number of interests [U], distinct categories [U, 4] (every slot, used or not),
    interest cluster ids [U, 4] with -1 padding, cumulative interest weights [U, 4])."""
    user_n_interests = rng.integers(2, MAX_INTERESTS + 1, users).astype(np.int64)
    cates = np.argsort(rng.random((users, N_CATES)), axis=1)[:, :MAX_INTERESTS]  # distinct
    topics = rng.integers(0, CLUSTERS_PER_CATE, (users, MAX_INTERESTS))
    slot = np.arange(MAX_INTERESTS)[None, :]
    used = slot < user_n_interests[:, None]
    user_interests = np.where(used, cates * CLUSTERS_PER_CATE + topics, -1).astype(np.int64)
    w = rng.gamma(1.0, 1.0, (users, MAX_INTERESTS)) * used
    w /= w.sum(axis=1, keepdims=True)
    user_interest_cdf = np.where(used, np.cumsum(w, axis=1), 1.0)
    user_interest_cdf[np.arange(users), user_n_interests - 1] = 1.0
    return user_n_interests, cates, user_interests, user_interest_cdf


def _draw_activity(users: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(click bias float32 [U], cumulative activity [U]: how often each user appears)."""
    user_bias = rng.normal(0.0, 0.3, users).astype(np.float32)
    activity = rng.lognormal(0.0, 0.6, users)
    user_cdf = np.cumsum(activity / activity.sum())
    user_cdf[-1] = 1.0
    return user_bias, user_cdf


def _draw_genres(cates: np.ndarray, n_interests: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(offsets [U + 1], indices into GENRES): 1-3 genres per user, mostly the genres of
    the user's interest categories."""
    users = len(n_interests)
    cate_genre = rng.permutation(np.resize(np.arange(len(GENRES)), N_CATES))
    n_genres = rng.integers(1, 4, users)
    from_interest = rng.random((users, 3)) < 0.7
    random_genre = rng.integers(0, len(GENRES), (users, 3))
    offsets, values = [0], []
    for u in range(users):
        picked: list[int] = []
        for k in range(int(n_genres[u])):
            g = (int(cate_genre[cates[u, k]]) if from_interest[u, k] and k < n_interests[u]
                 else int(random_genre[u, k]))
            if g not in picked:
                picked.append(g)
        values.extend(picked)
        offsets.append(len(values))
    return np.asarray(offsets, np.int64), np.asarray(values, np.int64)


def _draw_side_effects(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gender effect by category, age effect by category, occupation bias), float32."""
    cate_gender = rng.normal(0.0, 0.3, N_CATES).astype(np.float32)
    cate_age = rng.normal(0.0, 0.3, N_CATES).astype(np.float32)
    occupation_bias = rng.normal(0.0, 0.15, N_OCCUPATIONS).astype(np.float32)
    return cate_gender, cate_age, occupation_bias
