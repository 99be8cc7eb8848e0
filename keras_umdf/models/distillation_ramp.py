"""A linear ramp-up of the distillation weights over the first training steps."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int


@keras_umdf_export
class DistillationRamp(keras.layers.Layer):
    """Counts two-view training steps and gives the share of the weights to use.

    The i-th step (from 0) uses `min(1, i / warmup_steps)` of each ramped
    weight: the ramp-up of consistency losses in semi-supervised learning, an
    extension to UMDF (`UMDF(distillation_warmup=...)`; off by default). The
    count is the non-trainable variable `step`, saved with the weights, so
    that a resumed run goes on with its ramp; the optimizer's own counter
    cannot be read inside JAX's stateless training step.

    Args:
        warmup_steps: steps until the full weights (> 0).
    """

    def __init__(self, warmup_steps: int, **kwargs):
        super().__init__(**kwargs)
        self.warmup_steps = check_int("warmup_steps", warmup_steps)
        self.step = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
            name="step",
        )
        self.built = True

    def advance(self):
        """The share of the weights for this step; counts the step."""
        warmup = float(self.warmup_steps)
        step = self.step.value
        # Both read before the assignment: a TensorFlow graph or a PyTorch
        # tensor read after it would see the incremented count.
        share = step / warmup
        following = ops.minimum(step + 1.0, warmup)
        self.step.assign(following)
        return share

    def get_config(self):
        config = super().get_config()
        config["warmup_steps"] = self.warmup_steps
        return config
