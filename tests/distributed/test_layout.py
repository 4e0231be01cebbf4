"""recdsl.training.distribution without processes: which tables model parallel row-shards, the mesh,
the process flags and environment, and what the TensorFlow backend refuses."""
from __future__ import annotations

import pytest

from recdsl.checker import check
from recdsl.errors import UsageError
from recdsl.lang.parser import parse
from recdsl.training.config import RunConfig
from recdsl.training.distribution import (
    DistributionError,
    Processes,
    check_backend,
    data_shards,
    local_batch,
    mesh_shape,
    processes_of,
    sharded_tables,
)

SPEC = """model big "tables on both sides of the threshold"
feature user  : id(buckets=199998, dim=8)
feature item  : id(buckets=99998, dim=8)
feature odd   : id(buckets=100001, dim=4)
feature genre : category(vocab=["a", "b"], dim=8)
feature hist  : sequence(of=item, max_len=5)
feature tags  : multi(of=id(buckets=300000, dim=4), max_len=3)
pool h = avg(hist)
pool t = avg(tags)
output click = sigmoid(mlp([user, item, odd, genre, h, t], units=[8]))
"""


@pytest.fixture(scope="module")
def spec():
    return check(parse(SPEC, "big.rec"))


def test_tables_over_the_threshold_are_row_sharded(spec):
    # rows = buckets + 2 (padding, OOV); item's 100,000 rows are not over 100,000; hist shares item's table
    assert sharded_tables(spec, 100_000, 2) == {"user-embed/embeddings": 200_000, "odd-embed/embeddings": 100_003,
                                                "tags-embed/embeddings": 300_002}
    assert sharded_tables(spec, 50_000, 2) == {"user-embed/embeddings": 200_000, "item-embed/embeddings": 100_000,
                                               "odd-embed/embeddings": 100_003, "tags-embed/embeddings": 300_002}
    # 100,003 rows do not divide by 2 or 4, nor 300,002 by 4: sharded all the same (the layer pads them)
    assert sharded_tables(spec, 0, 4) == {"user-embed/embeddings": 200_000, "item-embed/embeddings": 100_000,
                                          "odd-embed/embeddings": 100_003, "genre-embed/embeddings": 4,
                                          "tags-embed/embeddings": 300_002}
    assert sharded_tables(spec, 0, 1) == {}  # one device on the model axis: nothing to split


def test_the_layout_map_of_a_run(spec):
    import keras

    from recdsl.training.distribution import distribution_of

    devices = [f"cpu:{i}" for i in range(2)]
    found = distribution_of(RunConfig(distribution="model"), spec, devices, Processes())
    layouts = found._layout_map
    assert tuple(found.device_mesh.shape) == (1, 2) and found.batch_dim_name == "batch"
    assert layouts["user-embed/embeddings"].axes == ("model", None)
    assert layouts["tags-embed/embeddings"].axes == ("model", None)
    assert layouts["item-embed/embeddings"] is None  # not in the map: replicated
    assert isinstance(distribution_of(RunConfig(distribution="data"), spec, devices, Processes()),
                      keras.distribution.DataParallel)
    assert distribution_of(RunConfig(), spec, devices[:1], Processes()) is None  # auto on one device


def test_meshes():
    assert mesh_shape("data", 8, 2) == (8, 1)
    assert mesh_shape("model", 4, 1) == (1, 4)      # one process: the model axis spans its devices
    assert mesh_shape("model", 4, 2) == (2, 2)      # two processes of 2 devices: the model axis spans them
    assert data_shards("data", Processes(4, 1, "h:1")) == 4 and data_shards("model", Processes(4, 1, "h:1")) == 1
    assert local_batch(1024, 4) == 256
    with pytest.raises(DistributionError, match="batch_size 1000 does not divide among 3 processes"):
        local_batch(1000, 3)


def test_process_flags_and_environment():
    assert processes_of(environ={}) == Processes(1, 0, None)
    assert processes_of("10.0.0.1:1234", 2, 1, environ={}) == Processes(2, 1, "10.0.0.1:1234")
    ours = {"RECDSL_COORDINATOR": "h:9", "RECDSL_NUM_PROCESSES": "3", "RECDSL_PROCESS_ID": "2"}
    assert processes_of(environ=ours) == Processes(3, 2, "h:9")
    jax = {"JAX_COORDINATOR_ADDRESS": "j:8", "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": "1"}
    assert processes_of(environ=jax) == Processes(2, 1, "j:8")
    assert processes_of("x:1", None, 0, environ=ours) == Processes(3, 0, "x:1")
    with pytest.raises(UsageError, match=r"--process-id must be in 0..1 for --num-processes 2, got 2"):
        processes_of("h:1", 2, 2, environ={})
    with pytest.raises(UsageError, match=r"2 processes need --coordinator HOST:PORT"):
        processes_of(None, 2, 0, environ={})


def test_tensorflow_refuses_what_it_cannot_train():
    with pytest.raises(DistributionError) as found:
        check_backend("tensorflow", "auto", Processes(), environ={"TF_CONFIG": "{}"})
    assert found.value.message == ("TF_CONFIG is set, but Keras 3's fit does not train with TensorFlow's "
                                   "MultiWorkerMirroredStrategy (or ParameterServerStrategy)")
    assert "KERAS_BACKEND=jax recdsl train --distribution data" in found.value.hint
    with pytest.raises(DistributionError, match=r"distribution `model` need the JAX backend \(this is 'torch'\)"):
        check_backend("torch", "model", Processes(), environ={})
    with pytest.raises(DistributionError, match=r"2 processes need the JAX backend"):
        check_backend("tensorflow", "auto", Processes(2, 0, "h:1"), environ={})
    check_backend("tensorflow", "auto", Processes(), environ={})  # one process: fine
    check_backend("jax", "model", Processes(2, 0, "h:1"), environ={"TF_CONFIG": "{}"})


def test_train_with_tf_config_stops_before_touching_anything(tmp_path, monkeypatch):
    import keras
    import pyarrow.parquet as pq

    from ..cli_call import call
    from ..training.test_train_cli import SPEC as TINY
    from ..training.test_train_cli import click_log

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFlow backend's refusal")
    (tmp_path / "tiny.rec").write_text(TINY)
    pq.write_table(click_log(50, 1), tmp_path / "train.parquet")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["h1:1", "h2:1"]}}')
    code, _, err = call(["train", tmp_path / "tiny.rec", "--train", tmp_path / "train.parquet", "-o",
                         tmp_path / "run", "-q"])
    assert code == 1
    assert err.startswith("recdsl: error: TF_CONFIG is set, but Keras 3's fit does not train with TensorFlow's "
                          "MultiWorkerMirroredStrategy (or ParameterServerStrategy)\n  hint: scale out on the JAX "
                          "backend: KERAS_BACKEND=jax recdsl train --distribution data ..."), err
    assert not (tmp_path / "run").exists()
