"""`recdsl export RUN --format onnx`: the model on preprocessed inputs as ONNX (tf2onnx), run with
onnxruntime on `recdsl.load_run(RUN).inputs(rows)`, gives the scores `recdsl predict` writes."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort  # the test extra installs tf2onnx and onnxruntime: a missing one fails here
import pyarrow.parquet as pq
import pytest

import recdsl

from ..cli_call import call

pytestmark = [pytest.mark.slow,  # trains a tiny run (~10 s) and converts it
              pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")]

NUMPY_OF = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}


def test_onnx_scores_match_recdsl_predict(tmp_path):
    from ..training.test_train_cli import SPEC, click_log

    train, valid = tmp_path / "train.parquet", tmp_path / "valid.parquet"
    pq.write_table(click_log(300, 1), train)
    pq.write_table(click_log(100, 2), valid)
    run_dir = recdsl.train(SPEC, train=train, valid=valid, out=tmp_path / "run", epochs=1, batch_size=64,
                           jit_compile="off").run_dir

    code, out, err = call(["export", run_dir, "--format", "onnx"])
    assert code == 0, err
    onnx_path = run_dir / "serving" / "model.onnx"
    assert f"exported {run_dir} -> {onnx_path}" in out and "PREPROCESSED inputs" in out
    code, _, err = call(["export", run_dir, "--format", "onnx"])
    assert code == 2 and "exists" in err  # not replaced without --force

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    run = recdsl.load_run(run_dir)
    inputs = run.inputs(click_log(100, 2).to_pylist())
    assert sorted(i.name for i in session.get_inputs()) == sorted(inputs)
    feed = {i.name: np.asarray(inputs[i.name], NUMPY_OF[i.type]) for i in session.get_inputs()}
    (scores,) = session.run(["click"], feed)
    written = recdsl.predict(run_dir, valid, tmp_path / "scores.parquet")
    expected = pq.read_table(written).column("click").to_numpy()
    assert scores.shape == (100,)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
