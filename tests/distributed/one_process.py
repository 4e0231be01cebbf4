"""One process of a distributed test run (tests/distributed/test_two_processes.py starts two):

    python one_process.py DATA OUT DISTRIBUTION COUNT INDEX PORT [--resume]

trains DATA/tiny.rec with recdsl.training.fit.train and prints one JSON line: the loss history,
the final weights of the model it trained (as trained, before the best epoch is restored), and
where the large table lives on this process (its addressable shards' shapes)."""
import json
import sys

import numpy as np

from recdsl.training import compilation, fit
from recdsl.training.config import RunConfig
from recdsl.training.distribution import processes_of

data, out, setting, count, index, port = sys.argv[1:7]
built = []


def build_and_keep(*args, **kwargs):
    built.append(compilation.build_model(*args, **kwargs))
    return built[-1]


fit.build_model = build_and_keep  # the model the run trains, to look at its weights afterwards
config = RunConfig(epochs=3, batch_size=256, learning_rate=0.05, seed=7, distribution=setting,
                   shard_tables_above=500, eval_batch_size=64).validate()
processes = processes_of(f"127.0.0.1:{port}", int(count), int(index), environ={})
result = fit.train(f"{data}/tiny.rec", f"{data}/train.parquet", f"{data}/valid.parquet", out=out, config=config,
                   resume="--resume" in sys.argv, verbose=0, processes=processes)
model = built[-1]
table = model.get_layer("item-embed").embeddings.value
print(json.dumps({
    "loss": result.history["loss"],
    "weights": [np.asarray(w.value).tolist() for w in model.weights] if table.is_fully_replicated or
    table.is_fully_addressable else None,
    "table_shards": [list(s.data.shape) for s in table.addressable_shards],
    "table_spec": list(getattr(table.sharding, "spec", ())),  # () on one device
    "run_dir": str(result.run_dir),
}))
