"""The paper's per-dataset training settings (Li et al., AAAI 2024, Sec. 4.2).

The command line (`keras-umdf train`, `reproduce`, `tune`) starts from these and
applies the user's overrides; Python users can read them too.
"""

from __future__ import annotations

import dataclasses
import os

PRESET_NAMES = ("mosi", "mosei", "iemocap")

WARMUP_STEPS = 100
"""Default length of the learning-rate warm-up that the library adds to the
paper's Adam, in optimizer steps (design decision 13;
`keras_umdf.optimizers.LinearWarmup`)."""


@dataclasses.dataclass(frozen=True)
class PaperPreset:
    """Training settings reported for one dataset.

    Attributes:
        name: "mosi", "mosei" or "iemocap".
        batch_size: training batch size.
        learning_rate: Adam learning rate.
        epochs: training epochs.
        num_heads: attention heads of MCIM (and, by default, of the encoders).
        hidden_dim: common feature size d.
        num_layers: number of MCIM layers D.
    """

    name: str
    batch_size: int
    learning_rate: float
    epochs: int
    num_heads: int
    hidden_dim: int = 40
    num_layers: int = 4


PAPER_PRESETS = {
    "mosi": PaperPreset("mosi", batch_size=128, learning_rate=1e-3, epochs=100,
                        num_heads=10),
    "mosei": PaperPreset("mosei", batch_size=16, learning_rate=1e-3, epochs=30,
                         num_heads=8),
    "iemocap": PaperPreset("iemocap", batch_size=32, learning_rate=2e-3, epochs=40,
                           num_heads=10),
}  # fmt: skip
"""Dataset name -> `PaperPreset` (the table of hyper-parameters in the paper)."""


def paper_preset(name: str) -> PaperPreset:
    """Returns the paper's settings for "mosi", "mosei" or "iemocap".

    Raises:
        ValueError: `name` is not one of `PRESET_NAMES`.
    """
    key = str(name).lower()
    if key not in PAPER_PRESETS:
        raise ValueError(f"No paper preset named {name!r}; use one of {PRESET_NAMES}.")
    return PAPER_PRESETS[key]


def infer_preset_name(*names: str | os.PathLike | None) -> str | None:
    """The preset a dataset name or file name points to, or None.

    Looks for "mosei", then "mosi", then "iemocap" in each name (a dataset's
    `name` such as "synthetic-mosei", or a file such as `mosi_data.pkl`), so that
    "mosei" is never mistaken for "mosi".
    """
    for name in names:
        if name is None:
            continue
        text = os.path.basename(os.fspath(name)).lower()
        for key in ("mosei", "mosi", "iemocap"):
            if key in text:
                return key
    return None
