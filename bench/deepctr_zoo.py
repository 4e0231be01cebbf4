#!/usr/bin/env python3
"""DeepCTR 0.9.4's implementation of one zoo model, trained on the MovieLens task with the zoo's protocol.

Runs inside the DeepCTR venv (TF 2.21 + tf-keras, TF_USE_LEGACY_KERAS=1; ../shared/peers/install_venv_deepctr.sh),
never imports recdsl. bench/zoo.py calls it once per model and seed:

    TF_USE_LEGACY_KERAS=1 venv-deepctr/bin/python bench/deepctr_zoo.py deepfm --data DIR --seed 2024
    ... --no-linear        # leave DeepCTR's linear (wide) logit out: the zoo spec has none

DIR is what examples/movielens/prepare.py writes (train/valid/test.parquet). Prints one line
`RESULT {json}`: per output {"auc", "logloss"} on test, params, steady training samples/s (training
rows / median training seconds of epochs 2..N, validation excluded; epoch 1 when only one ran),
epochs run and the best one.

Protocol (the zoo specs' and examples/movielens/run.yaml's): embedding dim 16, DNN 256-128-64 ReLU,
Adam 1e-3, batch 1024, at most 5 epochs, early stop (patience 2) on the first output's validation
AUC with the best weights restored, every L2 and dropout 0. Features: user_id, gender, age,
occupation, zip, zip3, item_id, item_genre, release_year and the genres list mean-pooled through
item_genre's table; the sequence models add hist_item_id / hist_genre (through item_id's and
item_genre's tables). Table rows are the zoo specs' (max_tokens + 2: padding and OOV), so the
parameter counts compare; ids are the train split's values (0 = padding, unseen = the last row).

The models (the zoo spec they stand beside -> DeepCTR):
    lr            DeepCTR has no LR model: its linear part alone (get_linear_logit + PredictionLayer),
                  what LR-like DeepCTR models put in front of their DNN
    fm            DeepFM without its DNN: the linear part + deepctr.layers.FM, added, as DeepFM does
    fwfm          FwFM(dnn_hidden_units=())
    ipnn / opnn   PNN(use_inner=True) / PNN(use_inner=False, use_outter=True, kernel_type="mat")
    dcn / dcn_v2  DCN(cross_num=2, cross_parameterization="vector" / "matrix")
    dcn_mix       DCNMix(cross_num=2, num_experts=4, low_rank=32)
    xdeepfm       xDeepFM(cin_layer_size=(256, 128), cin_split_half=True)
    autoint       AutoInt(att_layer_num=3, att_head_num=2, att_embedding_size=8, att_res=True)
    fibinet       FiBiNET(bilinear_type="interaction", reduction_ratio=3)
    din           DIN(att_hidden_size=(80, 40), Dice, att_weight_normalization=True, PReLU DNN)
    dien          none: DeepCTR 0.9.4's DIEN does not build on TF 2.21 (DIEN_ON_TF_221 says why)
    bst           BST(transformer_num=1, att_head_num=4)
    shared_bottom SharedBottom((256, 128), towers (64,)); esmm ESMM(towers (128, 64));
    mmoe          MMOE(3 experts (128, 64), towers (32,)); ple PLE(2 levels, 1 task + 2 shared experts)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: column -> embedding table rows, as the zoo specs size them (max_tokens + padding + OOV)
ROWS = {"user_id": 1002, "gender": 4, "age": 72, "occupation": 27, "zip": 1002, "zip3": 452,
        "item_id": 2002, "item_genre": 21, "release_year": 82}
GENRES_LEN, HIST_LEN, DIM = 6, 50, 16
HISTORY = {"hist_item_id": "item_id", "hist_item_genre": "item_genre"}  # DeepCTR name -> table
DIEN_ON_TF_221 = ("deepctr_zoo: DeepCTR 0.9.4's DIEN does not build on TF 2.21: its GRUs (deepctr/contrib/rnn_v2.py) "
                  "call TF 1 internals that are gone (array_ops.stack, control_flow_ops.cond / while_loop / "
                  "Assert) and, with those aliased back, tf.device with a function under eager execution")
MULTI_TASK = ("shared_bottom", "esmm", "mmoe", "ple")
SEQUENCE = ("din", "dien", "bst")
MODELS = ("lr", "fm", "fwfm", "wide_deep", "deepfm", "nfm", "afm", "ipnn", "opnn", "dcn", "dcn_v2", "dcn_mix",
          "xdeepfm", "autoint", "fibinet") + SEQUENCE + MULTI_TASK


def encode(frames: dict) -> dict:
    """{split: {input name: int32 array}}: ids from the train split's sorted values, 1-based."""
    train = frames["train"]
    vocab = {c: {v: i + 1 for i, v in enumerate(sorted({str(x) for x in train[c]}))} for c in ROWS}
    genre_values = {str(g) for gs in train["genres"] for g in gs} | {str(g) for g in train["item_genre"]}
    vocab["item_genre"] = {v: i + 1 for i, v in enumerate(sorted(genre_values))}

    def ids(values, column):
        table, oov = vocab[column], ROWS[column] - 1
        return [min(table.get(str(v), oov), oov) for v in values]

    def padded(lists, column, width):
        out = np.zeros((len(lists), width), dtype=np.int32)
        for row, values in enumerate(lists):
            kept = ids(list(values)[-width:], column)
            out[row, :len(kept)] = kept  # oldest first, zeros after (DeepCTR masks zeros)
        return out

    encoded = {}
    for name, df in frames.items():
        x = {c: np.asarray(ids(df[c], c), dtype=np.int32) for c in ROWS}
        x["genres"] = padded(df["genres"], "item_genre", GENRES_LEN)
        x["hist_item_id"] = padded(df["hist_item_id"], "item_id", HIST_LEN)
        x["hist_item_genre"] = padded(df["hist_genre"], "item_genre", HIST_LEN)
        x["genres_length"] = (x["genres"] > 0).sum(axis=1).astype(np.int32)
        x["seq_length"] = np.minimum(df["hist_len"].to_numpy(), HIST_LEN).astype(np.int32)
        encoded[name] = x
    return encoded


def feature_columns(model: str):
    from deepctr.feature_column import SparseFeat, VarLenSparseFeat

    columns = [SparseFeat(c, vocabulary_size=rows, embedding_dim=DIM) for c, rows in ROWS.items()]
    length = "seq_length" if model == "bst" else None  # BST builds its tables unmasked: lengths instead
    columns.append(VarLenSparseFeat(SparseFeat("genres", ROWS["item_genre"], DIM, embedding_name="item_genre"),
                                    maxlen=GENRES_LEN, combiner="mean",
                                    length_name="genres_length" if length else None))
    if model in SEQUENCE:
        columns += [VarLenSparseFeat(SparseFeat(h, ROWS[base], DIM, embedding_name=base), maxlen=HIST_LEN,
                                     length_name=length) for h, base in HISTORY.items()]
    return columns


def build(model: str, columns: list, linear: bool, seed: int):
    """The DeepCTR model standing beside specs/zoo/<model>.rec (the module docstring lists them)."""
    import tensorflow as tf
    from deepctr import models
    from deepctr.models import multitask

    wide = columns if linear else []
    common = dict(seed=seed, l2_reg_embedding=0.0, l2_reg_dnn=0.0, dnn_dropout=0.0)
    deep = dict(common, dnn_hidden_units=(256, 128, 64), dnn_activation="relu")
    lin = dict(l2_reg_linear=0.0)
    tasks = dict(task_types=("binary", "binary"), task_names=("liked", "loved"))
    if model in ("lr", "fm"):
        return _linear_fm(columns, with_fm=model == "fm", seed=seed)
    if model == "fwfm":
        return models.FwFM(wide, columns, dnn_hidden_units=(), l2_reg_field_strength=0.0, **lin, **common)
    if model == "wide_deep":
        return models.WDL(wide, columns, **lin, **deep)
    if model == "deepfm":
        return models.DeepFM(wide, columns, **lin, **deep)
    if model == "nfm":
        return models.NFM(wide, columns, bi_dropout=0.0, **lin, **deep)
    if model == "afm":
        return models.AFM(wide, columns, attention_factor=8, l2_reg_att=0.0, afm_dropout=0.0, seed=seed,
                          l2_reg_embedding=0.0, **lin)
    if model in ("ipnn", "opnn"):
        return models.PNN(columns, use_inner=model == "ipnn", use_outter=model == "opnn", kernel_type="mat", **deep)
    if model in ("dcn", "dcn_v2"):
        kind = "vector" if model == "dcn" else "matrix"
        return models.DCN(wide, columns, cross_num=2, cross_parameterization=kind, l2_reg_cross=0.0, **lin, **deep)
    if model == "dcn_mix":
        return models.DCNMix(wide, columns, cross_num=2, num_experts=4, low_rank=32, l2_reg_cross=0.0, **lin, **deep)
    if model == "xdeepfm":
        return models.xDeepFM(wide, columns, cin_layer_size=(256, 128), cin_split_half=True, l2_reg_cin=0.0,
                              **lin, **deep)
    if model == "autoint":
        return models.AutoInt(wide, columns, att_layer_num=3, att_head_num=2, att_embedding_size=8, att_res=True,
                              **lin, **deep)
    if model == "fibinet":
        return models.FiBiNET(wide, columns, bilinear_type="interaction", reduction_ratio=3, **lin, **deep)
    if model == "din":
        return models.DIN(columns, ["item_id", "item_genre"], att_hidden_size=(80, 40), att_activation="dice",
                          att_weight_normalization=True, **dict(deep, dnn_activation=tf.keras.layers.PReLU))
    if model == "dien":
        raise SystemExit(DIEN_ON_TF_221)
    if model == "bst":
        return models.BST(columns, ["item_id", "item_genre"], transformer_num=1, att_head_num=4, **deep)
    if model == "shared_bottom":
        return multitask.SharedBottom(columns, bottom_dnn_hidden_units=(256, 128), tower_dnn_hidden_units=(64,),
                                      **common, **tasks)
    if model == "esmm":
        return multitask.ESMM(columns, tower_dnn_hidden_units=(128, 64), **common, **tasks)
    if model == "mmoe":
        return multitask.MMOE(columns, num_experts=3, expert_dnn_hidden_units=(128, 64),
                              tower_dnn_hidden_units=(32,), **common, **tasks)
    if model == "ple":
        return multitask.PLE(columns, shared_expert_num=2, specific_expert_num=1, num_levels=2,
                             expert_dnn_hidden_units=(128, 64), tower_dnn_hidden_units=(32,), **common, **tasks)
    raise SystemExit(f"deepctr_zoo: no DeepCTR model for `{model}` (models: {', '.join(MODELS)})")


def _linear_fm(columns: list, with_fm: bool, seed: int):
    """LR = DeepCTR's linear logit; FM = that + its FM layer over the embeddings (DeepFM minus the DNN)."""
    import tensorflow as tf
    from deepctr.feature_column import build_input_features, get_linear_logit, input_from_feature_columns
    from deepctr.layers import FM, PredictionLayer
    from deepctr.layers.utils import add_func, concat_func

    features = build_input_features(columns)
    logit = get_linear_logit(features, columns, seed=seed, prefix="linear", l2_reg=0.0)
    if with_fm:
        embeddings, _ = input_from_feature_columns(features, columns, 0.0, seed)
        logit = add_func([logit, FM()(concat_func(embeddings, axis=1))])
    return tf.keras.models.Model(inputs=list(features.values()), outputs=PredictionLayer("binary")(logit))


class TrainingClock:
    """Keras 2 callback: each epoch's training seconds (up to the first validation batch)."""

    def __new__(cls):
        import tensorflow as tf

        class _Clock(tf.keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.train_s: list[float] = []

            def on_epoch_begin(self, epoch, logs=None):
                self.started, self.stopped = time.perf_counter(), None

            def on_test_begin(self, logs=None):
                if self.stopped is None:
                    self.stopped = time.perf_counter()
                    self.train_s.append(self.stopped - self.started)

        return _Clock()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=MODELS)
    ap.add_argument("--data", required=True, help="folder written by examples/movielens/prepare.py")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--rows", type=int, help="use the first ROWS rows of each split (smoke runs)")
    ap.add_argument("--no-linear", action="store_true", help="leave out the linear (wide) logit")
    args = ap.parse_args()

    import tensorflow as tf
    from deepctr.feature_column import get_feature_names
    from sklearn.metrics import log_loss, roc_auc_score

    random.seed(args.seed)
    np.random.seed(args.seed)
    tf.random.set_seed(args.seed)
    frames = {n: pd.read_parquet(os.path.join(args.data, f"{n}.parquet")) for n in ("train", "valid", "test")}
    if args.rows:
        frames = {n: df.head(args.rows) for n, df in frames.items()}
    xs = encode(frames)
    labels = ("liked", "loved") if args.model in MULTI_TASK else ("label",)
    ys = {n: [df[c].to_numpy().astype(np.float32) for c in labels] for n, df in frames.items()}

    columns = feature_columns(args.model)
    model = build(args.model, columns, linear=not args.no_linear, seed=args.seed)
    names = get_feature_names(columns)
    inputs = {n: {k: x[k] for k in names} for n, x in xs.items()}
    target = {n: dict(zip(model.output_names, y)) for n, y in ys.items()}
    outputs = model.output_names
    model.compile(tf.keras.optimizers.Adam(1e-3), {o: "binary_crossentropy" for o in outputs},
                  metrics={o: [tf.keras.metrics.AUC(name="auc")] for o in outputs})
    monitor = "val_auc" if len(labels) == 1 else f"val_{outputs[0]}_auc"
    clock = TrainingClock()
    stop = tf.keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=args.patience,
                                            restore_best_weights=True)
    fit = model.fit(inputs["train"], target["train"], batch_size=args.batch_size, epochs=args.epochs,
                    validation_data=(inputs["valid"], target["valid"]), shuffle=True, verbose=0,
                    callbacks=[clock, stop])
    scores = model.predict(inputs["test"], batch_size=4096, verbose=0)
    scores = scores if isinstance(scores, list) else [scores]
    test = {}
    for label, score, y in zip(labels, scores, ys["test"]):
        p = np.clip(np.asarray(score, dtype=np.float64).ravel(), 1e-7, 1 - 1e-7)
        test[label] = {"auc": float(roc_auc_score(y, p)), "logloss": float(log_loss(y, p))}
    valid_auc = fit.history[monitor]
    steady = clock.train_s[1:] or clock.train_s
    print("RESULT " + json.dumps({
        "model": args.model, "seed": args.seed, "test": test, "params": int(model.count_params()),
        "samples_per_sec": round(len(ys["train"][0]) / float(np.median(steady)), 1),
        "epochs": len(valid_auc), "best_epoch": int(np.argmax(valid_auc)) + 1,
        "train_seconds": [round(t, 3) for t in clock.train_s], "linear": not args.no_linear,
        "tensorflow": tf.__version__}), flush=True)


if __name__ == "__main__":
    main()
