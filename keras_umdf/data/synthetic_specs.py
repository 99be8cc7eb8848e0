"""The datasets the synthetic data imitates: split sizes, feature widths, label
grids and the mix of sentiments."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """One real dataset as the synthetic data imitates it."""

    sizes: tuple[int, int, int]
    dims: dict
    mmsa_dims: dict | None
    label_step: float | None
    # Sentiment mixture: weights (neutral, negative, positive), mode, spread.
    weights: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mode: float = 0.0
    spread: float = 0.0


PAPER_DIMS = {"text": 300, "audio": 74, "vision": 35}
"""GloVe, COVAREP and Facet widths, as in the UMDF paper."""

SPECS = {
    # Split sizes: the standard folds (MulT / MMSA).
    "mosi": SyntheticSpec(
        sizes=(1284, 229, 686),
        dims=PAPER_DIMS,
        mmsa_dims={"text": 768, "audio": 5, "vision": 20},
        label_step=0.2,  # mean of 5 integer ratings
        weights=(0.06, 0.5, 0.44),
        mode=1.4,
        spread=0.8,
    ),
    "mosei": SyntheticSpec(
        sizes=(16326, 1871, 4659),
        dims=PAPER_DIMS,
        mmsa_dims={"text": 768, "audio": 74, "vision": 35},
        label_step=1.0 / 3.0,  # mean of 3 integer ratings
        weights=(0.2, 0.25, 0.55),
        mode=1.1,
        spread=0.7,
    ),
    # MulT's IEMOCAP split sizes (4453 clips).
    "iemocap": SyntheticSpec(
        sizes=(2717, 798, 938), dims=PAPER_DIMS, mmsa_dims=None, label_step=None
    ),
}
DATASETS = tuple(SPECS)


def dataset_key(name: str) -> int:
    """The dataset's number in the seeds of its random streams."""
    return DATASETS.index(name) + 1
