"""The built-in synthetic datasets: real shapes and sizes, learnable, a fair test."""

import numpy as np
import pytest

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.synthetic import synthetic

ALL = ("text", "audio", "vision")


@pytest.fixture(scope="module")
def mosi():
    """The full-size synthetic MOSI (2199 clips, about 1 s)."""
    return synthetic("mosi", seed=0)


def time_average(split, modalities):
    return np.concatenate([split.features[m].mean(axis=1) for m in modalities], axis=1)


def ridge_predict(x_train, y_train, x_test, strength=0.1):
    """Ridge regression on standardised features (NumPy least squares)."""
    mean, scale = x_train.mean(0), x_train.std(0) + 1e-6
    a = np.c_[(x_train - mean) / scale, np.ones(len(x_train))]
    b = np.c_[(x_test - mean) / scale, np.ones(len(x_test))]
    penalty = strength * len(a) * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0  # no penalty on the intercept
    weights = np.linalg.solve(a.T @ a + penalty, a.T @ y_train)
    return b @ weights


def test_real_sizes_and_shapes(mosi):
    assert mosi.task == "regression" and mosi.name == "synthetic-mosi"
    sizes = {name: split.num_samples for name, split in mosi.splits.items()}
    assert sizes == {"train": 1284, "valid": 229, "test": 686}
    assert mosi.modality_dims == {"text": 300, "audio": 74, "vision": 35}
    assert mosi.sequence_lengths == {"text": 50, "audio": 50, "vision": 50}
    for split in mosi.splits.values():
        for x in split.features.values():
            assert x.dtype == np.float32
    assert "$_$" in mosi["train"].ids[0]
    assert len(set(mosi["train"].ids)) == 1284


@pytest.mark.parametrize(
    "name, sizes, dims",
    [
        ("mosei", (16326, 1871, 4659), {"text": 300, "audio": 74, "vision": 35}),
        ("iemocap", (2717, 798, 938), {"text": 300, "audio": 74, "vision": 35}),
    ],
)
def test_other_datasets_scale_their_real_sizes(name, sizes, dims):
    data = synthetic(name, scale=0.01, sequence_length=6)
    got = tuple(data[s].num_samples for s in ("train", "valid", "test"))
    assert got == tuple(max(2, round(n * 0.01)) for n in sizes)
    assert data.modality_dims == dims
    assert data.sequence_lengths == {m: 6 for m in ALL}


def test_mmsa_feature_widths_and_overrides():
    data = synthetic("mosi", mmsa_features=True, scale=0.01)
    assert data.modality_dims == {"text": 768, "audio": 5, "vision": 20}
    data = synthetic("mosei", mmsa_features=True, scale=0.001, sequence_length=4)
    assert data.modality_dims == {"text": 768, "audio": 74, "vision": 35}
    small = synthetic("mosi", scale=0.01, modality_dims={"text": 6, "audio": 3})
    assert small.modality_dims == {"text": 6, "audio": 3}


def test_deterministic_from_the_seed():
    first = synthetic("mosi", seed=3, scale=0.02, sequence_length=10)
    again = synthetic("mosi", seed=3, scale=0.02, sequence_length=10)
    other = synthetic("mosi", seed=4, scale=0.02, sequence_length=10)
    for name, split in first.splits.items():
        np.testing.assert_array_equal(split.labels, again[name].labels)
        for m in ALL:
            np.testing.assert_array_equal(split.features[m], again[name].features[m])
    assert not np.array_equal(
        first["train"].features["text"], other["train"].features["text"]
    )


def test_sentiment_labels_look_like_the_real_ones(mosi):
    labels = np.concatenate([s.labels for s in mosi.splits.values()])
    assert labels.min() >= -3 and labels.max() <= 3
    assert labels.min() == -3 and labels.max() == 3  # the scale is used fully
    # MOSI is the mean of 5 integer ratings: a grid of 0.2, exact zeros included.
    np.testing.assert_allclose(labels * 5, np.round(labels * 5), atol=1e-4)
    assert 0.01 < np.mean(labels == 0) < 0.1
    assert 1.2 < labels.std() < 1.9 and abs(labels.mean()) < 0.4
    mosei = synthetic("mosei", scale=0.05, sequence_length=4)["train"].labels
    np.testing.assert_allclose(mosei * 3, np.round(mosei * 3), atol=1e-4)
    assert mosei.mean() > 0.1  # MOSEI leans positive
    assert np.mean(mosei == 0) > np.mean(labels == 0)
    assert not np.any(np.signbit(mosei[mosei == 0]))  # no -0.0


def test_clips_are_left_padded_with_zero_frames(mosi):
    text = mosi["train"].features["text"]
    padded = ~np.any(text != 0, axis=-1)  # (N, T): all-zero frames
    # Padding comes first: once a frame is present, all later ones are.
    assert np.all(np.diff(padded.astype(int), axis=1) <= 0)
    length = 50 - padded.sum(1)
    assert length.min() >= 8 and length.max() == 50
    for m in ("audio", "vision"):
        np.testing.assert_array_equal(
            ~np.any(mosi["train"].features[m] != 0, -1), padded
        )


def test_a_linear_model_finds_the_structure_fairly(mosi):
    """Ridge on time-averaged features: all modalities clearly beat the mean,
    language alone beats vision alone, shuffled labels score like the mean."""
    train, test = mosi["train"], mosi["test"]
    baseline = np.mean(np.abs(test.labels - train.labels.mean()))

    def mae(modalities, labels=train.labels):
        x_train, x_test = (
            time_average(train, modalities),
            time_average(test, modalities),
        )
        return np.mean(np.abs(ridge_predict(x_train, labels, x_test) - test.labels))

    everything, text, audio, vision = (
        mae(ALL),
        mae(["text"]),
        mae(["audio"]),
        mae(["vision"]),
    )
    assert everything < 0.7 * baseline
    assert text < 0.75 * baseline
    assert text < audio < baseline and text < vision < baseline
    assert vision > 0.75 * baseline  # the weak modalities are weak
    assert everything <= text
    shuffled = np.random.default_rng(0).permutation(train.labels)
    assert mae(ALL, shuffled) > 0.97 * baseline


def test_a_missing_modality_is_partly_predictable_from_the_others(mosi):
    train, test = mosi["train"], mosi["test"]
    x_train, x_test = (
        time_average(train, ["text", "audio"]),
        time_average(test, ["text", "audio"]),
    )
    target_train, target_test = (
        time_average(train, ["vision"]),
        time_average(test, ["vision"]),
    )
    predicted = ridge_predict(x_train, target_train, x_test)
    residual = np.sum((predicted - target_test) ** 2)
    total = np.sum((target_test - target_train.mean(0)) ** 2)
    assert 1 - residual / total > 0.25  # R^2 of vision from language and audio


def test_iemocap_emotions():
    data = synthetic("iemocap", seed=0, scale=0.5, sequence_length=20)
    assert data.task == "classification" and data.multi_label
    assert data.num_classes == 4 and data.label_names == IEMOCAP_EMOTIONS
    train, test = data["train"], data["test"]
    assert train.labels.shape == (1358, 4) and train.labels.dtype == np.int32
    flags = train.labels.sum(1)
    assert flags.min() == 1 and flags.max() <= 2 and flags.mean() < 1.1  # usually one
    assert np.all(train.labels.mean(0) > 0.1)  # every emotion occurs
    # The latent drives the emotions: a linear model beats the majority class.
    predicted = ridge_predict(
        time_average(train, ALL), train.labels.astype(float), time_average(test, ALL)
    )
    accuracy = np.mean(predicted.argmax(1) == test.labels.argmax(1))
    majority = np.max(test.labels.mean(0))
    assert accuracy > majority + 0.1


def test_argument_errors():
    with pytest.raises(ValueError, match="'mosix'"):
        synthetic("mosix")
    with pytest.raises(ValueError, match="iemocap"):
        synthetic("iemocap", mmsa_features=True)
    with pytest.raises(ValueError, match="scale=0"):
        synthetic("mosi", scale=0)
    with pytest.raises(ValueError, match="seed=-2"):
        synthetic("mosi", seed=-2)
    with pytest.raises(ValueError, match="'smell'"):
        synthetic("mosi", modality_dims={"smell": 3})


@pytest.fixture(scope="module")
def real_mosi():
    """The full-size synthetic MOSI with real-looking features."""
    return synthetic("mosi", seed=0, feature_style="real")


def present_frames(x):
    """(N, T) bool: frames with any nonzero feature."""
    return np.any(x != 0, axis=-1)


def real_frame_average(split, modality):
    """Each clip's features averaged over its nonzero frames only."""
    x = split.features[modality]
    count = present_frames(x).sum(1)
    return x.sum(1) / np.maximum(count, 1)[:, None]


def test_real_style_keeps_the_clips_and_labels(real_mosi, mosi):
    assert real_mosi.modality_dims == mosi.modality_dims
    for name, split in real_mosi.splits.items():
        np.testing.assert_array_equal(split.labels, mosi[name].labels)
        np.testing.assert_array_equal(split.ids, mosi[name].ids)
        assert split.lengths is None  # like the aligned files
        for x in split.features.values():
            assert x.dtype == np.float32 and np.isfinite(x).all()


def test_real_style_has_the_units_of_each_modality(real_mosi):
    train = real_mosi["train"].features
    text, audio, vision = (train[m][present_frames(train[m])] for m in ALL)
    # Text like BERT/GloVe: per-dimension sd near 0.35.
    assert 0.25 < np.median(text.std(0)) < 0.5
    # Audio like COVAREP: values in the hundreds, dimensions differing by orders
    # of magnitude, and 74 // 16 = 4 constant (nonzero) columns.
    assert 20 < np.median(np.abs(audio)) < 500 and np.abs(audio).max() > 200
    constant = np.ptp(audio, axis=0) == 0
    assert constant.sum() == 4 and np.all(audio[0, constant] != 0)
    spread = audio.std(0)[~constant]
    assert spread.max() / spread.min() > 100
    # Vision like Facet: order 1.
    assert 0.5 < np.median(vision.std(0)) < 2.0 and np.median(np.abs(vision)) < 3
    assert np.median(np.abs(audio)) > 100 * np.median(np.abs(text))


def test_real_style_pads_at_the_end_with_many_zero_frames(real_mosi):
    features = real_mosi["train"].features
    text = present_frames(features["text"])
    # End padding: once a text frame is zero, all later ones are.
    assert np.all(np.diff(text.astype(int), axis=1) <= 0)
    assert np.all(text[:, 0]) and text[:, -1].mean() < 0.1
    length = text.sum(1)
    assert length.min() >= 3 and 12 <= np.median(length) <= 25
    assert np.mean(~text) > 0.5  # most frames are padding
    for m in ("audio", "vision"):
        frames = present_frames(features[m])
        assert not np.any(frames & ~text)  # aligned: the same padding
        # ... and zero frames inside the clip as well.
        assert np.sum(text & ~frames) / text.sum() > 0.05
    assert np.sum(text & ~present_frames(features["vision"])) > np.sum(
        text & ~present_frames(features["audio"])
    )


def test_padding_goes_to_the_front_on_request(real_mosi):
    front = synthetic("mosi", seed=0, feature_style="real", padding="front")
    text = present_frames(front["train"].features["text"])
    assert np.all(np.diff(text.astype(int), axis=1) >= 0)  # zeros first
    assert np.all(text[:, -1]) and np.mean(text[:, 0]) < 0.1
    end = present_frames(real_mosi["train"].features["text"])
    np.testing.assert_array_equal(text.sum(1), end.sum(1))  # the same lengths
    # The default data can be end-padded too.
    clean = synthetic("mosi", scale=0.02, sequence_length=10, padding="end")
    frames = present_frames(clean["train"].features["text"])
    assert np.all(np.diff(frames.astype(int), axis=1) <= 0) and np.all(frames[:, 0])


def test_real_style_is_deterministic_from_the_seed():
    def make(seed):
        return synthetic(
            "mosei",
            seed=seed,
            scale=0.002,
            sequence_length=12,
            feature_style="real",
            pseudo_text=True,
        )

    first, again, other = make(5), make(5), make(6)
    for name, split in first.splits.items():
        for m, x in split.features.items():
            np.testing.assert_array_equal(x, again[name].features[m])
    assert set(first["train"].features) == {*ALL, "pseudo_text"}
    for m in ALL:
        assert not np.array_equal(
            first["train"].features[m], other["train"].features[m]
        )


def test_real_style_text_is_learnable_and_vision_weak(real_mosi):
    """Ridge on features averaged over the real frames: text clearly beats the
    mean, audio less so, vision is near chance."""
    train, test = real_mosi["train"], real_mosi["test"]
    baseline = np.mean(np.abs(test.labels - train.labels.mean()))

    def mae(modality):
        predicted = ridge_predict(
            real_frame_average(train, modality),
            train.labels,
            real_frame_average(test, modality),
        )
        return np.mean(np.abs(predicted - test.labels))

    text, audio, vision = mae("text"), mae("audio"), mae("vision")
    assert text < 0.7 * baseline
    assert text < audio < baseline
    assert vision > 0.85 * baseline


def test_style_and_padding_errors():
    with pytest.raises(ValueError, match="feature_style='realistic'"):
        synthetic("mosi", feature_style="realistic")
    with pytest.raises(ValueError, match="padding='middle'"):
        synthetic("mosi", padding="middle")
