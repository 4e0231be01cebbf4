"""The wide (linear) part: logistic regression over the features' own ids and values."""
from __future__ import annotations

import keras
from keras import ops

FORMS = ("row", "rows", "bucket", "dense")


@keras.saving.register_keras_serializable(package="recdsl")
class FeatureLinear(keras.layers.Layer):
    """The features' model inputs [t_1, t_2, ...] -> [B, 1]:

        y = b + sum_i s_i,   s_i = w_T[id_i]                   (form "row" or "bucket": ids [B])
                                   sum_l w_T[id_il]            (form "rows": ids [B, L], 0-padded)
                                   x_i . v_i                   (form "dense": values [B, n])

    `features` describes the inputs in order, one dict each (recdsl.ops.feature_inputs):
    {"name", "form", "table", "rows", "size"}. Each table T gets one weight vector w_T of
    `rows` entries, shared by the features naming it (a bag and the category whose table it
    shares). Row 0 is padding: its weight is the constant 0, not a parameter, so padded
    positions add nothing and w_T holds rows - 1 trainable weights (rows 1 .. rows - 1).
    Weights and b start at 0. Parameters: 1 + sum_T (rows_T - 1) + sum_dense n_i.
    The linear part of Wide & Deep (Cheng et al., "Wide & Deep Learning for Recommender
    Systems", DLRS 2016), DeepFM (Guo et al., IJCAI 2017) and DeepCTR's `linear_feature_columns`.
    """

    def __init__(self, features, **kwargs):
        super().__init__(**kwargs)
        for feature in features:
            if feature["form"] not in FORMS:
                raise ValueError(f"FeatureLinear form must be one of {FORMS}, got {feature['form']!r}")
        self.features = [dict(f) for f in features]

    def build(self, input_shape=None):
        self.tables, self.dense = {}, {}
        for feature in self.features:
            if feature["form"] == "dense":
                self.dense[feature["name"]] = self.add_weight(
                    name=f"{feature['name']}_weights", shape=(feature["size"],), initializer="zeros")
            elif feature["table"] not in self.tables:
                self.tables[feature["table"]] = self.add_weight(
                    name=f"{feature['table']}_weights", shape=(feature["rows"] - 1,), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")

    def _row_weights(self, table: str):
        """w_T with the padding row's constant 0 in front (row 0): [rows]."""
        weights = ops.cast(self.tables[table], self.compute_dtype)
        return ops.concatenate([ops.zeros((1,), dtype=weights.dtype), weights], axis=0)

    def _term(self, feature: dict, x):
        """s_i [B]: one feature's part of the logit."""
        if feature["form"] == "dense":
            weights = ops.cast(self.dense[feature["name"]], self.compute_dtype)
            return ops.sum(ops.cast(x, self.compute_dtype) * weights, axis=-1)
        rows = ops.take(self._row_weights(feature["table"]), ops.cast(x, "int32"), axis=0)
        return ops.sum(rows, axis=-1) if feature["form"] == "rows" else rows

    def call(self, inputs):
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        terms = [self._term(feature, x) for feature, x in zip(self.features, inputs)]
        logit = terms[0]
        for term in terms[1:]:
            logit = logit + term
        return ops.expand_dims(logit, -1) + ops.cast(self.bias, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0], 1)

    def get_config(self):
        return {**super().get_config(), "features": [dict(f) for f in self.features]}
