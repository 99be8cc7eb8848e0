"""A run's training settings (the paper's per-dataset values, `keras_umdf.presets`)
and the training clips it uses."""

from __future__ import annotations

from keras_umdf.modalities import DEFAULT_P_MAX
from keras_umdf.presets import WARMUP_STEPS
from keras_umdf.presets import infer_preset_name
from keras_umdf.presets import paper_preset

SETTING_KEYS = (
    "batch_size",
    "learning_rate",
    "epochs",
    "num_heads",
    "hidden_dim",
    "num_layers",
)
"""The training settings a run takes (`keras_umdf.presets.PaperPreset`)."""

SELECT_EPOCH_CHOICES = ("best", "last")
"""Which epoch's weights a training run keeps: the best by the validation task
metric (the default), or the last (`keras_umdf.experiments.best_epoch`)."""


def preset_settings(name: str) -> dict:
    """The paper's settings of the preset `name` ("mosi", "mosei", "iemocap"),
    with the learning-rate warm-up of `keras_umdf.optimizers.WARMUP_STEPS`:
    "preset", the `SETTING_KEYS` and "warmup_steps", in that order.

    Raises:
        ValueError: `name` is not a preset.
    """
    preset = paper_preset(name)
    return {
        "preset": preset.name,
        **{k: getattr(preset, k) for k in SETTING_KEYS},
        "warmup_steps": WARMUP_STEPS,
    }


def default_settings(data) -> dict:
    """The paper's settings for a dataset (MOSI's when its name says nothing),
    with the learning-rate warm-up of `keras_umdf.optimizers.WARMUP_STEPS`."""
    return preset_settings(infer_preset_name(getattr(data, "name", None)) or "mosi")


def training_p_max(settings) -> float:
    """The largest frame-drop rate of a run's training views: `settings["p_max"]`,
    or `keras_umdf.modalities.DEFAULT_P_MAX` when the settings leave it out (it
    is recorded only when set, so runs recorded before it existed resume).

    Raises:
        ValueError: it is not a number in [0, 1].
    """
    from keras_umdf.data.random_streams import check_rate

    return check_rate(
        'settings["p_max"]',
        settings.get("p_max", DEFAULT_P_MAX),
        " It is the largest frame-drop rate of the training views.",
    )


def training_split(data, train_samples: int = 0):
    """The training clips a run uses: the first `train_samples` of
    `data["train"]` (0: all of them)."""
    split = data["train"]
    if train_samples:
        split = split.subset(range(min(train_samples, split.num_samples)))
    return split
