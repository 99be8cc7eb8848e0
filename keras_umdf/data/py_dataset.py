"""`MaskedPyDataset`: the masking pipeline in NumPy, for machines without TensorFlow."""

from __future__ import annotations

import keras
import numpy as np

from keras_umdf.data.batch_contract import batch_labels_np
from keras_umdf.data.batch_contract import check_pipeline_args
from keras_umdf.data.batch_contract import prepare_split
from keras_umdf.data.condition_views import condition_frames
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.random_streams import SHUFFLE_STREAM
from keras_umdf.data.random_streams import TRAIN_STREAM
from keras_umdf.data.view_sampler import ViewSampler
from keras_umdf.data.views import apply_frames
from keras_umdf.modalities import DEFAULT_P_MAX


class MaskedPyDataset(keras.utils.PyDataset):
    """Masked batches of one split as a `keras.utils.PyDataset` (NumPy only).

    The same arguments, masking specification and batch contract as
    `keras_umdf.data.make_dataset`, without TensorFlow: use it to train with the
    JAX or PyTorch backend on a machine where TensorFlow is not installed.
    Training batches hold two views per sample whose modality sets differ and
    whose frames drop at rates p ~ U[0, p_max] (`ViewSampler`); the masks of
    batch i in epoch e come from `np.random.default_rng([seed, 1, e, i])`, so
    they are fresh every epoch and reproducible from the seed. `on_epoch_end`
    (called by `fit` after each epoch, and once after building an unbuilt
    model) advances the epoch: fresh masks and a new shuffle. `fit(...,
    shuffle=True)`, Keras' default, also shuffles the order of the batches with
    Python's `random`; pass `shuffle=False` to `fit` for an order set by `seed`
    alone. Evaluation batches apply `condition` and `drop_rate` with the
    masks of `keras_umdf.data.apply_condition`, keyed by sample index.

    The masks follow the same specification as `make_dataset` but come from
    NumPy's generator rather than TensorFlow's, so the two agree in
    distribution, not draw for draw (evaluation masks at `drop_rate` 0 or 1 are
    identical).

    Batch contract: training `(x, y)` with `x = {"view_a": V, "view_b": V}`,
    evaluation `(x, y)` with `x = V`; V holds `V[m]` float32 (B, T_m, d_m) and
    `V[m + "_mask"]` float32 (B, T_m) per modality m of the split; `y` float32
    (B, 1) (regression), int32 (B,) (classes) or int32 (B, K) (multi-label).

    Args:
        split: a `Split`, e.g. `data["train"]`.
        training: two random views per sample (True) or one view under
            `condition` (False).
        batch_size: samples per batch.
        seed: non-negative int; the shuffles and masks derive from it.
        condition: evaluation only: present modalities, e.g. "la", or
            "text_missing" / "all_streams" for data with a "pseudo_text" stream
            (see `make_dataset`).
        drop_rate: evaluation only: frame-drop rate p in [0, 1].
        p_max: training only: frame-drop rates are drawn from U[0, p_max].
        shuffle: shuffle the samples, anew each epoch; default `training`.
        drop_remainder: drop the last batch if it is smaller than `batch_size`.
        epoch: the epoch to start at (e.g. to resume training).
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size` of
            `keras.utils.PyDataset`.

    Example:

    ```python
    train = MaskedPyDataset(data["train"], training=True, batch_size=128, seed=0)
    valid = MaskedPyDataset(data["valid"], training=False, batch_size=128)
    model.fit(train, validation_data=valid, epochs=10)
    ```
    """

    def __init__(
        self,
        split: Split,
        *,
        training: bool,
        batch_size: int,
        seed: int = 0,
        condition: str = "lav",
        drop_rate: float = 0.0,
        p_max: float = DEFAULT_P_MAX,
        shuffle: bool | None = None,
        drop_remainder: bool = False,
        epoch: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        batch_size, seed, drop_rate, p_max, shuffle = check_pipeline_args(
            training=training,
            batch_size=batch_size,
            seed=seed,
            condition=condition,
            drop_rate=drop_rate,
            p_max=p_max,
            shuffle=shuffle,
        )
        self.features, self.labels, self.lengths, self.label_kind = prepare_split(split)
        self.modalities = tuple(self.features)
        self.training = bool(training)
        self.batch_size = batch_size
        self.seed = seed
        self.condition = condition
        self.drop_rate = drop_rate
        self.p_max = p_max
        self.shuffle = shuffle
        self.drop_remainder = bool(drop_remainder)
        self.sampler = ViewSampler(self.modalities, p_max) if training else None
        num = self.num_samples
        self._num_batches = (
            num // batch_size if drop_remainder else -(-num // batch_size)
        )
        if self._num_batches == 0:
            raise ValueError(
                f"The split has {num} samples, fewer than batch_size={batch_size}, "
                "and drop_remainder=True would give no batch; lower batch_size or "
                "pass drop_remainder=False."
            )
        self.epoch = int(epoch)
        self._order = self._epoch_order()

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])

    def __len__(self) -> int:
        return self._num_batches

    def _epoch_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.num_samples)
        rng = np.random.default_rng([self.seed, SHUFFLE_STREAM, self.epoch])
        return rng.permutation(self.num_samples)

    def batch_indices(self, index: int) -> np.ndarray:
        """The indices (into the split) of the samples in batch `index`."""
        if not 0 <= index < self._num_batches:
            raise IndexError(
                f"Batch index {index} is out of range for {self._num_batches} batches."
            )
        return self._order[index * self.batch_size : (index + 1) * self.batch_size]

    def __getitem__(self, index: int):
        indices = self.batch_indices(int(index))
        features = {
            m: np.asarray(x[indices], np.float32) for m, x in self.features.items()
        }
        lengths = {m: v[indices] for m, v in self.lengths.items()}
        y = batch_labels_np(self.labels[indices], self.label_kind)
        if self.training:
            rng = np.random.default_rng(
                [self.seed, TRAIN_STREAM, self.epoch, int(index)]
            )
            return self.sampler(features, rng=rng, lengths=lengths), y
        steps = {m: x.shape[1] for m, x in features.items()}
        frames = condition_frames(
            indices, steps, self.condition, self.drop_rate, self.seed, lengths
        )
        return apply_frames(features, frames), y

    def on_epoch_end(self) -> None:
        """Advances to the next epoch: new shuffle and new training masks."""
        self.epoch += 1
        self._order = self._epoch_order()
