"""The canonical container: validation on construction, with errors that say where."""

import numpy as np
import pytest

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split


def arrays(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "text": rng.normal(size=(n, 4, 6)),
        "audio": rng.normal(size=(n, 7, 3)),
        "vision": rng.normal(size=(n, 4, 2)),
    }


def split(n=5, labels=None, **kwargs):
    labels = np.linspace(-3, 3, n) if labels is None else labels
    return Split(arrays(n), labels, np.arange(n).astype(str), **kwargs)


def test_a_valid_dataset_is_normalised():
    data = MultimodalDataset(
        {"train": split(5, labels=np.zeros((5, 1, 1))), "test": split(3)}, name="mine"
    )
    assert data.modalities == ("text", "audio", "vision")
    assert data.modality_dims == {"text": 6, "audio": 3, "vision": 2}
    assert data.sequence_lengths == {"text": 4, "audio": 7, "vision": 4}
    train = data["train"]
    assert train.features["text"].dtype == np.float32
    assert (
        train.labels.shape == (5,) and train.labels.dtype == np.float32
    )  # MulT (N,1,1)
    assert train.ids.dtype.kind == "U"
    part = train.subset([4, 0])
    assert part.num_samples == 2
    np.testing.assert_array_equal(part.features["audio"][1], train.features["audio"][0])
    with pytest.raises(KeyError, match=r"no split 'valid'.*\['test', 'train'\]"):
        data["valid"]


def test_nan_is_reported_with_modality_split_and_sample():
    bad = split(6)
    bad.features["audio"][4, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"'train'.*'audio'.*nan.*sample 4") as error:
        MultimodalDataset({"train": bad})
    assert "neg_inf_to_zero" not in str(error.value)


def test_neg_inf_is_refused_or_mapped_to_zero_with_the_option():
    bad = split(4)
    bad.features["audio"][2, 0, 0] = -np.inf
    with pytest.raises(ValueError, match=r"-inf.*sample 2.*neg_inf_to_zero=True"):
        MultimodalDataset({"train": bad})
    data = MultimodalDataset({"train": bad}, neg_inf_to_zero=True)
    assert data["train"].features["audio"][2, 0, 0] == 0.0
    assert np.isfinite(data["train"].features["audio"]).all()
    plus = split(4)
    plus.features["text"][1, 1, 1] = np.inf
    with pytest.raises(ValueError, match=r"'text'.*inf.*sample 1"):
        MultimodalDataset({"train": plus}, neg_inf_to_zero=True)  # +inf stays an error


def test_label_ranges_per_task():
    with pytest.raises(ValueError, match=r"\[-3.0, 3.0\].*3.5"):
        MultimodalDataset({"train": split(3, labels=np.array([0.0, 3.5, -1.0]))})
    with pytest.raises(ValueError, match=r"NaN or inf"):
        MultimodalDataset({"train": split(2, labels=np.array([0.0, np.nan]))})
    with pytest.raises(ValueError, match=r"\[0, 3\).*from 0 to 3"):
        MultimodalDataset(
            {"train": split(3, labels=np.array([0, 1, 3]))},
            task="classification",
            num_classes=3,
        )
    with pytest.raises(ValueError, match="integers"):
        MultimodalDataset(
            {"train": split(2, labels=np.array([0.5, 1.0]))},
            task="classification",
            num_classes=3,
        )
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        MultimodalDataset(
            {"train": split(2, labels=np.zeros((2, 3)))},
            task="classification",
            num_classes=4,
            multi_label=True,
        )
    with pytest.raises(ValueError, match="0 or 1"):
        MultimodalDataset(
            {"train": split(2, labels=np.full((2, 4), 2))},
            task="classification",
            num_classes=4,
            multi_label=True,
        )
    with pytest.raises(ValueError, match=r"num_classes >= 2.*None"):
        MultimodalDataset({"train": split(2)}, task="classification")
    with pytest.raises(ValueError, match="task='ranking'"):
        MultimodalDataset({"train": split(2)}, task="ranking")


def test_inconsistent_sizes_and_shapes():
    bad = split(5)
    bad.features["vision"] = bad.features["vision"][:4]
    with pytest.raises(
        ValueError, match=r"'vision' has 4 samples but there are 5 labels"
    ):
        MultimodalDataset({"train": bad})
    with pytest.raises(ValueError, match=r"ids must be \(N,\) = \(5,\)"):
        MultimodalDataset({"train": Split(arrays(5), np.zeros(5), np.arange(4))})
    flat = split(3)
    flat.features["text"] = flat.features["text"][:, 0]
    with pytest.raises(ValueError, match=r"\(N, T, d\).*\(3, 6\)"):
        MultimodalDataset({"train": flat})
    other = split(3)
    other.features["audio"] = other.features["audio"][:, :, :2]
    with pytest.raises(ValueError, match="same modalities and feature dimensions"):
        MultimodalDataset({"train": split(3), "test": other})


def test_empty_splits_are_refused():
    empty = Split({m: x[:0] for m, x in arrays(3).items()}, np.zeros(0), np.array([]))
    with pytest.raises(ValueError, match=r"'valid' is empty"):
        MultimodalDataset({"train": split(3), "valid": empty})
    with pytest.raises(ValueError, match="at least one split"):
        MultimodalDataset({})
    with pytest.raises(ValueError, match="no modality arrays"):
        MultimodalDataset({"train": Split({}, np.zeros(2), np.arange(2))})


def test_lengths_are_checked():
    data = MultimodalDataset({"train": split(3, lengths={"audio": [7, 0, 2]})})
    assert data["train"].lengths["audio"].dtype == np.int32
    with pytest.raises(ValueError, match=r"lengths\['audio'\] must be \(3,\)"):
        MultimodalDataset({"train": split(3, lengths={"audio": [1, 2]})})
    with pytest.raises(ValueError, match=r"lengths\['smell'\]"):
        MultimodalDataset({"train": split(3, lengths={"smell": [1, 2, 3]})})
    with pytest.raises(ValueError, match=r"lengths\['audio'\].*\[0, 7\].*8"):
        MultimodalDataset({"train": split(3, lengths={"audio": [1, 8, 3]})})
    with pytest.raises(ValueError, match=r"lengths\['audio'\].*-1"):
        MultimodalDataset({"train": split(3, lengths={"audio": [1, -1, 3]})})
