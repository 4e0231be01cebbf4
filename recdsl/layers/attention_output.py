"""The attention weights of another node's layer, as a model output."""
from __future__ import annotations

import keras
from keras import ops

from recdsl.layers.masking import ExplicitMask


@keras.saving.register_keras_serializable(package="recdsl")
class AttentionWeightsOutput(ExplicitMask, keras.layers.Layer):
    """[y, x1, x2, ...], mask [B, L] -> w [B, L] float32: the weights the attention layer that
    made y gives each position, w = layer.<method>(x, mask=mask) (`x` is x1 alone when `single`,
    else [x1, x2, ...]), exactly as that layer computes them in inference (0 at padding; an
    all-padding row gives zeros).

    y is the attention layer's own output and x, mask the inputs it was called with (the
    emitter's recorded Call). y is not used in the arithmetic: it names the layer. Whenever this
    layer is called on symbolic tensors (the emitter, and Keras rebuilding a loaded model.keras)
    it takes the layer that made y from y's Keras history, so the weights always come from the
    model's own attention layer and its current variables; this layer holds no weights of its
    own and no second implementation of any attention formula. The method is the one the op
    registry declares (OpSpec.attention.method), as the run report's diagnostics call it.
    """

    #: The emitter calls this layer with the source node's output and its layer call (see above).
    reads_attention_call = True

    def __init__(self, method="attention_weights", single=True, **kwargs):
        # float32 out, as the prediction heads; no autocast: the attention layer computes in its own dtype
        kwargs.setdefault("dtype", "float32")
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.method, self.single = method, bool(single)

    def __call__(self, inputs, *args, **kwargs):
        history = getattr(inputs[0], "_keras_history", None)
        if history is not None:
            # object.__setattr__: Keras would track the layer as this one's own sublayer
            object.__setattr__(self, "_source", history.operation)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, mask=None):
        source = getattr(self, "_source", None)
        if source is None:
            raise ValueError(f"{self.name}: call it on the attention layer's symbolic output first "
                             "(it learns the layer from that output's Keras history)")
        taps = inputs[1] if self.single else list(inputs[1:])
        weights = getattr(source, self.method)(taps, mask=mask) if mask is not None \
            else getattr(source, self.method)(taps)
        return ops.cast(weights, "float32")

    def get_config(self):
        return {**super().get_config(), "method": self.method, "single": self.single}
