"""The pseudo-text stream (SDUMC): synthetic data, conditions, views and pipelines."""

import numpy as np
import pytest

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data.masking import ViewSampler
from keras_umdf.data.masking import apply_condition
from keras_umdf.data.py_dataset import MaskedPyDataset
from keras_umdf.data.synthetic import synthetic
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import condition_modalities
from tests.data.test_synthetic import ridge_predict
from tests.data.test_synthetic import time_average

# Backend-independent: NumPy and tf.data only.
pytestmark = pytest.mark.only_backend("tensorflow")

STEPS = {"text": 12, "audio": 10, "vision": 8, "pseudo_text": 12}
DIMS = {"text": 5, "audio": 4, "vision": 3, "pseudo_text": 6}
REAL = ("text", "audio", "vision")


def features(rng, n):
    # Strictly positive, so a zero can only come from masking.
    return {
        m: rng.uniform(0.5, 1.5, (n, STEPS[m], DIMS[m])).astype("float32")
        for m in STEPS
    }


def tiny_split(n=24, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.linspace(-3, 3, n)).astype("float32")
    split = Split(features(rng, n), labels, np.arange(n).astype(str))
    return MultimodalDataset({"train": split})


# ----------------------------------------------------------------- synthetic
def test_synthetic_adds_the_stream_and_leaves_every_other_array_unchanged():
    plain = synthetic("mosei", seed=1, scale=0.01, sequence_length=8)
    data = synthetic("mosei", seed=1, scale=0.01, sequence_length=8, pseudo_text=True)
    assert data.modalities == ("text", "audio", "vision", "pseudo_text")
    assert data.modality_dims == {
        "text": 300,
        "audio": 74,
        "vision": 35,
        "pseudo_text": 300,
    }
    for name, split in plain.splits.items():
        np.testing.assert_array_equal(split.labels, data[name].labels)
        for m in REAL:
            np.testing.assert_array_equal(split.features[m], data[name].features[m])
        # The clip's padding frames are zero in the pseudo text too.
        padded = ~np.any(split.features["text"] != 0, axis=-1)
        pseudo = data[name].features["pseudo_text"]
        np.testing.assert_array_equal(~np.any(pseudo != 0, axis=-1), padded)
    again = synthetic("mosei", seed=1, scale=0.01, sequence_length=8, pseudo_text=True)
    np.testing.assert_array_equal(
        again["test"].features["pseudo_text"], data["test"].features["pseudo_text"]
    )
    widths = synthetic(
        "mosi", scale=0.01, sequence_length=4, pseudo_text=True, pseudo_text_dim=16
    ).modality_dims
    assert widths["pseudo_text"] == 16
    mmsa = synthetic(
        "mosi", scale=0.01, sequence_length=4, mmsa_features=True, pseudo_text=True
    )
    assert mmsa.modality_dims["pseudo_text"] == 768


def test_synthetic_pseudo_text_argument_errors():
    with pytest.raises(ValueError, match="pseudo_text_dim=8"):
        synthetic("mosi", scale=0.01, pseudo_text_dim=8)  # pseudo_text=False
    with pytest.raises(ValueError, match="pseudo_text_dim=0"):
        synthetic("mosi", scale=0.01, pseudo_text=True, pseudo_text_dim=0)


def test_pseudo_text_is_informative_but_less_than_the_text():
    """Ridge on time-averaged features (synthetic MOSI, seed 0): the pseudo text
    predicts better than the audio and worse than the text, and adds to audio and
    vision what the text would."""
    data = synthetic("mosi", seed=0, pseudo_text=True)
    train, test = data["train"], data["test"]

    def mae(modalities):
        predicted = ridge_predict(
            time_average(train, modalities),
            train.labels,
            time_average(test, modalities),
        )
        return np.mean(np.abs(predicted - test.labels))

    text, pseudo, audio = mae(["text"]), mae(["pseudo_text"]), mae(["audio"])
    assert text + 0.05 < pseudo < audio - 0.03, (text, pseudo, audio)
    without, with_pseudo = (
        mae(["audio", "vision"]),
        mae(["audio", "vision", "pseudo_text"]),
    )
    assert with_pseudo < without - 0.03, (without, with_pseudo)
    assert mae(list(REAL)) < with_pseudo  # the real text is still better


# ---------------------------------------------------------------- conditions
def test_named_conditions():
    assert condition_modalities("text_missing") == ("audio", "vision", "pseudo_text")
    assert condition_modalities("all_streams") == (*REAL, "pseudo_text")
    with pytest.raises(ValueError, match="text_missing"):
        condition_modalities("textmissing")


def test_the_papers_conditions_never_keep_the_pseudo_text(rng):
    x = features(rng, 6)
    for condition in CONDITIONS:
        view = apply_condition(x, condition)
        np.testing.assert_array_equal(view["pseudo_text"], 0.0)
        np.testing.assert_array_equal(view["pseudo_text_mask"], 0.0)
        for m in REAL:
            kept = m in condition_modalities(condition)
            np.testing.assert_array_equal(view[f"{m}_mask"], float(kept))


def test_text_missing_keeps_audio_vision_and_the_pseudo_text(rng):
    x = features(rng, 6)
    view = apply_condition(x, "text_missing")
    np.testing.assert_array_equal(view["text"], 0.0)
    np.testing.assert_array_equal(view["text_mask"], 0.0)
    for m in ("audio", "vision", "pseudo_text"):
        np.testing.assert_array_equal(view[m], x[m])
        np.testing.assert_array_equal(view[f"{m}_mask"], 1.0)
    everything = apply_condition(x, "all_streams")
    for m in STEPS:
        np.testing.assert_array_equal(everything[m], x[m])
    # Frame drops apply to the pseudo text like to any present stream.
    dropped = apply_condition(x, "text_missing", drop_rate=0.5, seed=1)
    assert 0.2 < dropped["pseudo_text_mask"].mean() < 0.8
    # Without a pseudo text, "text_missing" is audio and vision.
    real = {m: x[m] for m in REAL}
    np.testing.assert_array_equal(
        apply_condition(real, "text_missing")["audio"],
        apply_condition(real, "av")["audio"],
    )


def test_tensorflow_condition_equals_numpy_for_text_missing(rng):
    tf = pytest.importorskip("tensorflow")
    from keras_umdf.data.masking import apply_condition_tf

    x = features(rng, 5)
    expected = apply_condition(x, "text_missing")
    got = apply_condition_tf({m: tf.constant(v) for m, v in x.items()}, "text_missing")
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key].numpy(), value)


# --------------------------------------------------------- views, pipelines
@pytest.mark.parametrize("implementation", ["numpy", "tensorflow"])
def test_training_views_draw_the_seven_sets_and_leave_the_pseudo_text_out(
    implementation, rng
):
    x = features(rng, 700)
    sampler = ViewSampler(tuple(STEPS))
    assert sampler.modalities == REAL and sampler.num_sets == 7
    if implementation == "numpy":
        views = sampler(x, rng=np.random.default_rng(0))
    else:
        tf = pytest.importorskip("tensorflow")
        views = sampler.apply_tf(
            {m: tf.constant(v) for m, v in x.items()}, tf.constant([0, 1], tf.int64)
        )
        views = {k: {m: t.numpy() for m, t in v.items()} for k, v in views.items()}
    codes = set()
    for view in views.values():
        assert sorted(view) == sorted([*STEPS, *(f"{m}_mask" for m in STEPS)])
        np.testing.assert_array_equal(view["pseudo_text"], 0.0)
        np.testing.assert_array_equal(view["pseudo_text_mask"], 0.0)
        present = np.stack([view[f"{m}_mask"].any(1) for m in REAL], axis=1)
        codes |= {tuple(row) for row in present}
    assert len(codes - {(False, False, False)}) == 7


def test_masked_py_dataset_passes_the_pseudo_text_through():
    data = tiny_split()
    x, y = MaskedPyDataset(data["train"], training=False, batch_size=8)[0]
    assert x["pseudo_text"].shape == (8, 12, 6)
    np.testing.assert_array_equal(x["pseudo_text_mask"], 0.0)  # "lav"
    x, _ = MaskedPyDataset(
        data["train"], training=False, batch_size=8, condition="text_missing"
    )[0]
    np.testing.assert_array_equal(x["text_mask"], 0.0)
    np.testing.assert_array_equal(
        x["pseudo_text"], data["train"].features["pseudo_text"][:8]
    )
    x, _ = MaskedPyDataset(data["train"], training=True, batch_size=8, seed=1)[0]
    np.testing.assert_array_equal(x["view_a"]["pseudo_text_mask"], 0.0)


def test_make_dataset_passes_the_pseudo_text_through():
    pytest.importorskip("tensorflow")
    from keras_umdf.data.pipeline import make_dataset

    data = tiny_split()
    split = data["train"]
    (x, y), *_ = list(
        make_dataset(split, training=False, batch_size=24, condition="text_missing")
    )
    np.testing.assert_array_equal(x["text"].numpy(), 0.0)
    np.testing.assert_array_equal(
        x["pseudo_text"].numpy(), split.features["pseudo_text"]
    )
    # SDUMC's training batches: every stream, shuffled anew each epoch.
    train = make_dataset(
        split, training=False, shuffle=True, batch_size=24, condition="all_streams"
    )
    first, second = (next(iter(train)) for _ in range(2))
    for x, y in (first, second):
        order = [np.flatnonzero(split.labels == v)[0] for v in y.numpy()[:, 0]]
        for m in STEPS:
            np.testing.assert_array_equal(x[m].numpy(), split.features[m][order])
    assert not np.array_equal(first[1].numpy(), second[1].numpy())
    (views, _), *_ = list(make_dataset(split, training=True, batch_size=24))
    for view in views.values():
        np.testing.assert_array_equal(view["pseudo_text_mask"].numpy(), 0.0)
