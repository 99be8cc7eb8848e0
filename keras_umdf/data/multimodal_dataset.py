"""The one in-memory form every reader returns and every consumer takes."""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_umdf.modalities import MODALITIES

TASKS = ("regression", "classification")
SPLITS = ("train", "valid", "test")
REGRESSION_RANGE = (-3.0, 3.0)
IEMOCAP_EMOTIONS = ("neutral", "happy", "sad", "angry")
"""IEMOCAP's four emotions in the order of the MulT label array."""


@dataclasses.dataclass
class Split:
    """One split of a dataset: arrays of N samples.

    Attributes:
        features: modality name ("text", "audio", "vision") -> float32 array
            (N, T_m, d_m). Missing modalities or frames are zero vectors. An
            optional "pseudo_text" array (N, T_p, d_p), e.g. embeddings of an
            ASR transcript, stands in for the text when it is missing (SDUMC).
        labels: regression: float32 (N,) sentiment scores; single-label
            classification: int (N,) class indices; multi-label classification
            (IEMOCAP): int (N, K) with 1 where label k is present.
        ids: (N,) strings identifying each clip (e.g. "vid$_$clip").
        lengths: optional modality name -> int (N,) number of valid leading
            frames (MMSA's `*_lengths` for unaligned data). Absent means every frame
            is valid.
    """

    features: dict[str, np.ndarray]
    labels: np.ndarray
    ids: np.ndarray
    lengths: dict[str, np.ndarray] | None = None

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices) -> Split:
        """Returns the samples at `indices` (any NumPy index) as a new `Split`."""
        indices = np.asarray(indices)
        lengths = None
        if self.lengths is not None:
            lengths = {m: v[indices] for m, v in self.lengths.items()}
        return Split(
            features={m: v[indices] for m, v in self.features.items()},
            labels=self.labels[indices],
            ids=self.ids[indices],
            lengths=lengths,
        )


@dataclasses.dataclass
class MultimodalDataset:
    """A multimodal sentiment dataset in keras_umdf's canonical form.

    Every reader (MulT and MMSA pickles, CMU-MultimodalSDK `.csd` files, TFDS, the
    built-in synthetic data) returns this, and `make_dataset`, the evaluation
    protocol and the command line take it.

    The arrays are validated on construction: every split has the same modalities
    with the same feature widths, the modality arrays and labels of a split agree
    on N, values are finite (a NaN or inf is reported with its modality, split and
    sample index; `neg_inf_to_zero=True` maps -inf to 0 as MMSA does for audio),
    regression labels lie in [-3, 3], class labels in [0, num_classes), and no
    split is empty.

    Args:
        splits: split name ("train", "valid", "test") -> `Split`.
        task: "regression" (sentiment score in [-3, 3]) or "classification".
        num_classes: number of classes for classification (for multi-label data,
            the number of labels K). Ignored for regression.
        multi_label: whether classification labels are (N, K) presence flags
            (IEMOCAP's form) rather than (N,) class indices.
        label_names: optional names of the classes or labels.
        name: a name for reports, e.g. "mosi".
        feature_extractors: where the features came from, when
            `keras_umdf.features` extracted them: one dict per modality
            ("modality", "name", "version", "width"); None otherwise.
        neg_inf_to_zero: replace -inf feature values by 0 before validation.

    Example:

    ```python
    data = MultimodalDataset(
        splits={"train": Split(features={"text": x_l, "audio": x_a,
                                         "vision": x_v},
                               labels=y, ids=ids), ...},
        task="regression",
    )
    data.modality_dims  # {"text": 300, "audio": 74, "vision": 35}
    ```
    """

    splits: dict[str, Split]
    task: str = "regression"
    num_classes: int | None = None
    multi_label: bool = False
    label_names: tuple[str, ...] | None = None
    name: str = "dataset"
    feature_extractors: tuple[dict, ...] | None = None
    neg_inf_to_zero: dataclasses.InitVar[bool] = False

    def __post_init__(self, neg_inf_to_zero: bool) -> None:
        if self.task not in TASKS:
            raise ValueError(
                f"task must be one of {TASKS}; received task={self.task!r}."
            )
        if self.task == "classification":
            if self.num_classes is None or int(self.num_classes) < 2:
                raise ValueError(
                    "A classification dataset needs num_classes >= 2; received "
                    f"num_classes={self.num_classes!r}."
                )
            self.num_classes = int(self.num_classes)
        if not self.splits:
            raise ValueError("A dataset needs at least one split; received none.")
        if self.label_names is not None:
            self.label_names = tuple(self.label_names)
        reference = None
        for split_name, split in self.splits.items():
            self._normalise(split_name, split, neg_inf_to_zero)
            widths = {m: v.shape[-1] for m, v in split.features.items()}
            if reference is None:
                reference = (split_name, widths)
            elif widths != reference[1]:
                raise ValueError(
                    f"Split {split_name!r} has modality widths {widths} but split "
                    f"{reference[0]!r} has {reference[1]}; every split must have "
                    "the same modalities and feature dimensions."
                )

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities present, in the order text, audio, vision, then others."""
        keys = next(iter(self.splits.values())).features.keys()
        known = [m for m in MODALITIES if m in keys]
        return tuple(known + sorted(k for k in keys if k not in MODALITIES))

    @property
    def modality_dims(self) -> dict[str, int]:
        """Feature width d_m of each modality, e.g. {"text": 300, ...}."""
        features = next(iter(self.splits.values())).features
        return {m: int(features[m].shape[-1]) for m in self.modalities}

    @property
    def sequence_lengths(self) -> dict[str, int]:
        """Padded sequence length T_m of each modality."""
        features = next(iter(self.splits.values())).features
        return {m: int(features[m].shape[1]) for m in self.modalities}

    def __getitem__(self, split_name: str) -> Split:
        if split_name not in self.splits:
            raise KeyError(
                f"Dataset {self.name!r} has no split {split_name!r}; it has "
                f"{sorted(self.splits)}."
            )
        return self.splits[split_name]

    def _normalise(self, split_name: str, split: Split, neg_inf_to_zero: bool) -> None:
        where = f"{self.name!r} split {split_name!r}"
        if not split.features:
            raise ValueError(f"{where} has no modality arrays.")
        labels = np.asarray(split.labels)
        n = labels.shape[0] if labels.ndim else 0
        if n == 0:
            raise ValueError(f"{where} is empty (0 labels); every split needs data.")
        for modality, array in list(split.features.items()):
            array = np.asarray(array)
            if array.ndim != 3:
                raise ValueError(
                    f"{where}: {modality!r} features must be (N, T, d); received "
                    f"shape {array.shape}."
                )
            if array.shape[0] != n:
                raise ValueError(
                    f"{where}: {modality!r} has {array.shape[0]} samples but there "
                    f"are {n} labels; they must agree."
                )
            if 0 in array.shape[1:]:
                raise ValueError(
                    f"{where}: {modality!r} features have shape {array.shape}, with "
                    f"{'no frames (T = 0)' if array.shape[1] == 0 else 'no dimensions'}"
                    "; every modality needs at least one frame of at least one "
                    "value: fix the file or pad the sequences."
                )
            array = array.astype(np.float32, copy=False)
            if neg_inf_to_zero and np.isneginf(array).any():
                array = np.where(np.isneginf(array), np.float32(0), array)
            bad = ~np.isfinite(array)
            if bad.any():
                sample = int(np.argwhere(bad)[0][0])
                value = array[np.unravel_index(int(np.argmax(bad)), array.shape)]
                hint = (
                    " Pass neg_inf_to_zero=True to map -inf to 0 as MMSA does."
                    if np.isneginf(array).any()
                    else ""
                )
                raise ValueError(
                    f"{where}: {modality!r} features contain {value} (first at "
                    f"sample {sample}, {int(bad.sum())} values in all); features "
                    f"must be finite.{hint}"
                )
            split.features[modality] = array
        split.labels = self._check_labels(where, labels)
        split.ids = np.asarray(split.ids).astype(str)
        if split.ids.shape != (n,):
            raise ValueError(
                f"{where}: ids must be (N,) = ({n},); received shape {split.ids.shape}."
            )
        if split.lengths is not None:
            for modality, lengths in list(split.lengths.items()):
                lengths = np.asarray(lengths).astype(np.int32)
                if modality not in split.features or lengths.shape != (n,):
                    raise ValueError(
                        f"{where}: lengths[{modality!r}] must be ({n},) for a modality "
                        f"in {sorted(split.features)}; received shape {lengths.shape}."
                    )
                steps = split.features[modality].shape[1]
                outside = (lengths < 0) | (lengths > steps)
                if outside.any():
                    sample = int(np.argmax(outside))
                    raise ValueError(
                        f"{where}: lengths[{modality!r}] must lie in [0, {steps}] (the "
                        f"padded length); received {lengths[sample]} at sample {sample}."
                    )
                split.lengths[modality] = lengths

    def _check_labels(self, where: str, labels: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            labels = labels.reshape(labels.shape[0], -1)
            if labels.shape[1] != 1:
                raise ValueError(
                    f"{where}: regression labels must hold one score per sample; "
                    f"received shape {labels.shape}."
                )
            labels = labels[:, 0].astype(np.float32)
            if not np.isfinite(labels).all():
                raise ValueError(f"{where}: regression labels contain NaN or inf.")
            low, high = REGRESSION_RANGE
            if labels.min() < low or labels.max() > high:
                raise ValueError(
                    f"{where}: regression labels must lie in [{low}, {high}]; "
                    f"received values from {labels.min()} to {labels.max()}."
                )
            return labels
        if self.multi_label:
            if labels.ndim != 2 or labels.shape[1] != self.num_classes:
                raise ValueError(
                    f"{where}: multi-label labels must be (N, {self.num_classes}); "
                    f"received shape {labels.shape}."
                )
            if not np.isin(labels, (0, 1)).all():
                raise ValueError(f"{where}: multi-label labels must be 0 or 1.")
            return labels.astype(np.int32)
        labels = labels.reshape(-1)
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise ValueError(f"{where}: class labels must be integers.")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(
                f"{where}: class labels must lie in [0, {self.num_classes}); "
                f"received values from {labels.min()} to {labels.max()}."
            )
        return labels.astype(np.int32)
