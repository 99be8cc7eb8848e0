"""The learning-rate warm-up UMDF trains with.

At the paper's learning rate (1e-3) and no warm-up, Adam's first updates are
sign steps: every weight moves by the full learning rate in the direction that
lowers the batch's mean error, all at once. On the post-LN UMDF network one
such step moved the mean prediction by 3.8 label units (from +0.49 to -3.30 on
the real-style synthetic data), the next steps oscillate, and within ten steps
the network has stopped telling one clip from another (design decision 13,
docs/design-decisions.md; docs/real-data.md has the measurements). A linear
warm-up of the step size over the first `WARMUP_STEPS` updates lets Adam's
moment estimates settle first; after it the learning rate is the paper's.
"""

import math

import keras

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int

# The default warm-up is defined with the training defaults, which the command
# line's parser reads without importing Keras; it is exported here too.
from keras_umdf.presets import WARMUP_STEPS


@keras_umdf_export
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that rises linearly to `learning_rate`, then stays there.

    Step `i` (0-based, the optimizer's `iterations`) uses
    `learning_rate * min(1, (i + 1) / warmup_steps)`: the first update already
    moves, and update `warmup_steps` and every later one use `learning_rate`.

    Args:
        learning_rate: the rate after the warm-up (a positive, finite float).
        warmup_steps: how many updates the rise takes (>= 1).

    Example:

    ```python
    optimizer = keras.optimizers.Adam(LinearWarmup(1e-3, warmup_steps=100))
    ```
    """

    def __init__(self, learning_rate: float, warmup_steps: int = WARMUP_STEPS):
        self.learning_rate = check_learning_rate(learning_rate)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        fraction = keras.ops.minimum(1.0, (step + 1.0) / float(self.warmup_steps))
        return self.learning_rate * fraction

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def check_learning_rate(learning_rate) -> float:
    """Returns `learning_rate` as a float when it is positive and finite."""
    valid = isinstance(learning_rate, (int, float)) and not isinstance(
        learning_rate, bool
    )
    if not valid or not math.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(
            "learning_rate must be a positive finite number (the paper uses 1e-3 "
            f"for CMU-MOSI and CMU-MOSEI, 2e-3 for IEMOCAP); received "
            f"{learning_rate!r}."
        )
    return float(learning_rate)
