"""`recdsl check --table [--devices N]`: each embedding table's bytes and, under model parallel over N
devices, its bytes per device (the sharding rule of training), without importing TensorFlow or Keras."""
from __future__ import annotations

import subprocess
import sys

from recdsl.checker.memory import SHARD_TABLES_ABOVE
from recdsl.training.config import RunConfig

from ..cli_call import call

SPEC = """model m "one large table, one small"
feature user  : id(buckets=199998, dim=8)
feature odd   : id(buckets=150001, dim=2)
feature genre : category(vocab=["a", "b"], dim=8)
output click = sigmoid(mlp([user, odd, genre], units=[4]))
"""


def test_bytes_of_each_table(tmp_path):
    spec = tmp_path / "m.rec"
    spec.write_text(SPEC)
    code, out, err = call(["check", spec, "--table"])
    assert code == 0, err
    # user: 200,000 rows x 8 x 4 bytes = 6,400,000 = 6.1 MiB; odd: 150,003 x 2 x 4 = 1,200,024; genre: 4 x 8 x 4
    rows = [line.split(maxsplit=3) for line in out.splitlines()[-4:-1]]
    assert rows == [["user", "200,000", "8", "6.1 MiB"], ["odd", "150,003", "2", "1.1 MiB"],
                    ["genre", "4", "8", "128 bytes"]]
    assert out.rstrip().endswith("embedding tables: 7.2 MiB")  # 7,600,152 bytes


def test_bytes_per_device_under_model_parallel(tmp_path):
    spec = tmp_path / "m.rec"
    spec.write_text(SPEC)
    code, out, err = call(["check", spec, "--table", "--devices", "4"])
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert lines["user"].endswith("1.5 MiB (row-sharded)")  # 6,400,000 / 4
    # 150,003 rows: padded to 150,004, 37,501 x 2 x 4 = 300,008 bytes on each device
    assert lines["odd"].endswith("293.0 KiB (row-sharded, padded to 150,004 rows)")
    assert lines["genre"].endswith("128 bytes")
    # per device: 1,600,000 + 300,008 + 128 + the mlp's (8 + 2 + 8) x 4 + 4 + 4 x 1 + 1 = 81 params
    assert out.rstrip().endswith("model 1.8 MiB")  # 1,900,460 bytes
    code, out, _ = call(["check", spec, "--table", "--devices", "4", "--shard-tables-above", "1000000"])
    assert "row-sharded" not in out.split("embedding tables")[0].split("----")[-1]


def test_the_threshold_is_training_s():
    assert RunConfig().shard_tables_above == SHARD_TABLES_ABOVE


def test_check_does_not_import_tensorflow_or_keras(tmp_path):
    spec = tmp_path / "m.rec"
    spec.write_text(SPEC)
    code = ("import sys; from recdsl.cli.main import main; main(['check', sys.argv[1], '--table', '--devices', '2']); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(spec)], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
