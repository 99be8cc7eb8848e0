"""MaskedPyDataset: the NumPy path, same contract and mask statistics as tf.data."""

import keras
import numpy as np
import pytest
from scipy import stats

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data.masking import apply_condition
from keras_umdf.data.py_dataset import MaskedPyDataset
from tests.without_tensorflow import run_without_tensorflow
from tests.without_tensorflow import skip_on_tensorflow

STEPS = {"text": 30, "audio": 20, "vision": 25}
DIMS = {"text": 3, "audio": 2, "vision": 2}
SETS = ("l", "a", "v", "la", "lv", "av", "lav")


def tiny_data(n=40, *, task="regression", seed=0):
    rng = np.random.default_rng(seed)
    features = {
        m: rng.uniform(0.5, 1.5, (n, STEPS[m], DIMS[m])).astype("float32") for m in DIMS
    }
    if task == "regression":
        labels = rng.permutation(np.linspace(-3, 3, n)).astype("float32")
        kwargs = {}
    else:
        labels = rng.integers(0, 3, n)
        kwargs = {"task": "classification", "num_classes": 3}
    split = Split(features, labels, np.arange(n).astype(str))
    return MultimodalDataset({"train": split}, **kwargs)["train"]


def numpy_batches(dataset):
    return [dataset[i] for i in range(len(dataset))]


def tf_batches(dataset):
    return [keras.tree.map_structure(lambda t: t.numpy(), b) for b in dataset]


def view_statistics(batches):
    """Per view: the modality-set code (index in SETS) and the dropped fraction
    of the frames of its present modalities."""
    codes, dropped, heterogeneous = [], [], []
    for x, _ in batches:
        per_view = []
        for name in ("view_a", "view_b"):
            view = x[name]
            present = [view[f"{m}_mask"].any(1) for m in DIMS]  # all-dropped: p^20
            letters = np.array(["l", "a", "v"])
            code = [
                SETS.index("".join(letters[[p[i] for p in present]]))
                for i in range(len(present[0]))
            ]
            kept = sum(view[f"{m}_mask"].sum(1) for m in DIMS)
            total = sum(
                np.where(p, STEPS[m], 0) for p, m in zip(present, DIMS, strict=True)
            )
            codes.append(code)
            dropped.append(1 - kept / total)
            per_view.append(code)
        heterogeneous.append(np.array(per_view[0]) != np.array(per_view[1]))
    return (
        np.concatenate(codes),
        np.concatenate(dropped),
        np.concatenate(heterogeneous),
    )


def test_both_paths_draw_masks_with_the_same_statistics():
    tf = pytest.importorskip("tensorflow")
    from keras_umdf.data.pipeline import make_dataset

    split = tiny_data(1500)
    numpy_path = MaskedPyDataset(split, training=True, batch_size=500, seed=0)
    tf_path = make_dataset(split, training=True, batch_size=500, seed=0)
    numpy_draws, tf_draws = [], []
    for _ in range(2):  # two epochs each: 6000 views per path
        numpy_draws.extend(numpy_batches(numpy_path))
        numpy_path.on_epoch_end()
        tf_draws.extend(tf_batches(tf_path))
    assert tf.is_tensor(next(iter(tf_path))[1])
    numpy_codes, numpy_dropped, numpy_heterogeneous = view_statistics(numpy_draws)
    tf_codes, tf_dropped, tf_heterogeneous = view_statistics(tf_draws)
    # Every pair of views differs in its modality set, on both paths.
    assert numpy_heterogeneous.all() and tf_heterogeneous.all()
    # Each of the 7 sets ~1/7 (binomial sd 0.0045), and the paths agree.
    numpy_freq = np.bincount(numpy_codes, minlength=7) / numpy_codes.size
    tf_freq = np.bincount(tf_codes, minlength=7) / tf_codes.size
    np.testing.assert_allclose(numpy_freq, 1 / 7, atol=0.02)
    np.testing.assert_allclose(tf_freq, 1 / 7, atol=0.02)
    table = np.stack([np.bincount(c, minlength=7) for c in (numpy_codes, tf_codes)])
    assert stats.chi2_contingency(table).pvalue > 1e-3
    # Per-view frame-drop rates: mean p_max / 2 and the same distribution.
    np.testing.assert_allclose(numpy_dropped.mean(), 0.25, atol=0.01)
    np.testing.assert_allclose(tf_dropped.mean(), 0.25, atol=0.01)
    assert stats.ks_2samp(numpy_dropped, tf_dropped).pvalue > 1e-3
    # Near-uniform on [0, 0.5] (the binomial noise of 20-75 frames aside).
    np.testing.assert_allclose(
        np.quantile(numpy_dropped, [0.25, 0.5, 0.75]), [0.125, 0.25, 0.375], atol=0.03
    )


def test_batch_contract_matches_make_dataset():
    pytest.importorskip("tensorflow")
    from keras_umdf.data.pipeline import make_dataset

    split = tiny_data(20)
    for training in (True, False):
        numpy_batch = MaskedPyDataset(split, training=training, batch_size=8)[0]
        tf_batch = tf_batches(make_dataset(split, training=training, batch_size=8))[0]
        keras.tree.assert_same_structure(numpy_batch, tf_batch)
        for a, b in zip(
            keras.tree.flatten(numpy_batch), keras.tree.flatten(tf_batch), strict=True
        ):
            assert a.shape == b.shape and a.dtype == b.dtype
    # Evaluation without random drops is identical on both paths.
    for condition, p in (("la", 0.0), ("lav", 1.0)):
        kwargs = dict(training=False, batch_size=8, condition=condition, drop_rate=p)
        numpy_all = numpy_batches(MaskedPyDataset(split, **kwargs))
        tf_all = tf_batches(make_dataset(split, **kwargs))
        for a, b in zip(
            keras.tree.flatten(numpy_all), keras.tree.flatten(tf_all), strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_labels_and_batches():
    split = tiny_data(20, task="classification")
    dataset = MaskedPyDataset(split, training=False, batch_size=8)
    assert len(dataset) == dataset.num_batches == 3
    x, y = dataset[2]
    assert y.dtype == np.int32 and y.shape == (4,)
    assert set(x) == set(DIMS) | {f"{m}_mask" for m in DIMS}
    assert (
        len(MaskedPyDataset(split, training=True, batch_size=8, drop_remainder=True))
        == 2
    )
    with pytest.raises(IndexError, match="Batch index 3"):
        dataset[3]


def test_epochs_are_fresh_reshuffled_and_reproducible():
    split = tiny_data(30)
    first = MaskedPyDataset(split, training=True, batch_size=10, seed=3)
    second = MaskedPyDataset(split, training=True, batch_size=10, seed=3)
    epoch0 = numpy_batches(first)
    for a, b in zip(
        keras.tree.flatten(epoch0),
        keras.tree.flatten(numpy_batches(second)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    first.on_epoch_end()
    epoch1 = numpy_batches(first)
    labels0 = np.concatenate([y[:, 0] for _, y in epoch0])
    labels1 = np.concatenate([y[:, 0] for _, y in epoch1])
    np.testing.assert_array_equal(np.sort(labels0), np.sort(split.labels))
    np.testing.assert_array_equal(np.sort(labels1), np.sort(split.labels))
    assert not np.array_equal(labels0, labels1)
    assert not np.array_equal(
        epoch0[0][0]["view_a"]["text_mask"], epoch1[0][0]["view_a"]["text_mask"]
    )
    # Resuming at epoch 1 gives epoch 1.
    resumed = numpy_batches(
        MaskedPyDataset(split, training=True, batch_size=10, seed=3, epoch=1)
    )
    np.testing.assert_array_equal(
        resumed[0][0]["view_b"]["audio"], epoch1[0][0]["view_b"]["audio"]
    )


def test_evaluation_equals_apply_condition():
    split = tiny_data(30)
    dataset = MaskedPyDataset(
        split, training=False, batch_size=7, condition="lv", drop_rate=0.4, seed=5
    )
    expected = apply_condition(split.features, "lv", drop_rate=0.4, seed=5)
    batches = numpy_batches(dataset)
    dataset.on_epoch_end()
    again = numpy_batches(dataset)
    for key, value in expected.items():
        np.testing.assert_array_equal(
            np.concatenate([x[key] for x, _ in batches]), value
        )
        np.testing.assert_array_equal(np.concatenate([x[key] for x, _ in again]), value)


def test_argument_errors():
    split = tiny_data(10)
    with pytest.raises(ValueError, match=r"drop_rate=2"):
        MaskedPyDataset(split, training=False, batch_size=4, drop_rate=2)
    with pytest.raises(ValueError, match=r"p_max=-1"):
        MaskedPyDataset(split, training=True, batch_size=4, p_max=-1)
    with pytest.raises(ValueError, match="'xyz'"):
        MaskedPyDataset(split, training=False, batch_size=4, condition="xyz")


@pytest.mark.requires_trainable_backend
def test_fit_on_this_backend():
    split = tiny_data(32)
    train = MaskedPyDataset(split, training=True, batch_size=16, seed=0)
    inputs = {}
    for name in ("view_a", "view_b"):
        view = {}
        for m in sorted(DIMS):  # Keras 3.15 on torch matches nested keys in order
            view[m] = keras.Input((STEPS[m], DIMS[m]), name=f"{name}_{m}")
            view[f"{m}_mask"] = keras.Input((STEPS[m],), name=f"{name}_{m}_mask")
        inputs[name] = view
    dense = keras.layers.Dense(1)
    outputs = sum(
        dense(keras.ops.mean(inputs[v]["text"], axis=1)) for v in ("view_a", "view_b")
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(train, epochs=2, verbose=0, shuffle=False)
    assert np.all(np.isfinite(history.history["loss"]))
    # fit calls on_epoch_end after each epoch (and once after building the model).
    assert train.epoch >= 2


BLOCK_TENSORFLOW_SCRIPT = """
import numpy as np
from keras_umdf.data import MultimodalDataset, Split, MaskedPyDataset
rng = np.random.default_rng(0)
features = {"text": rng.random((6, 4, 3), "float32"),
            "audio": rng.random((6, 5, 2), "float32")}
data = MultimodalDataset({"train": Split(features, np.zeros(6), np.arange(6))})
x, y = MaskedPyDataset(data["train"], training=True, batch_size=4)[0]
print(sorted(x["view_a"]), y.shape)
"""


@skip_on_tensorflow
def test_works_without_tensorflow(subprocess_env):
    result = run_without_tensorflow(BLOCK_TENSORFLOW_SCRIPT, subprocess_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == (
        "['audio', 'audio_mask', 'text', 'text_mask'] (4, 1)"
    )
