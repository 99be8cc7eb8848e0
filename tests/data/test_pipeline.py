"""make_dataset: the batch contract, fresh seeded masks per epoch, and model.fit."""

import keras
import numpy as np
import pytest

from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data.masking import apply_condition
from keras_umdf.data.pipeline import make_dataset

tf = pytest.importorskip("tensorflow")

STEPS = {"text": 12, "audio": 10, "vision": 8}
DIMS = {"text": 5, "audio": 4, "vision": 3}


def tiny_data(n=40, *, task="regression", modalities=tuple(DIMS), lengths=None, seed=0):
    """Strictly positive features (a zero can only come from masking) and unique
    regression labels (each sample can be recognised in a batch)."""
    rng = np.random.default_rng(seed)
    features = {
        m: rng.uniform(0.5, 1.5, (n, STEPS[m], DIMS[m])).astype("float32")
        for m in modalities
    }
    kwargs = {"task": task}
    if task == "regression":
        labels = rng.permutation(np.linspace(-3, 3, n)).astype("float32")
    elif task == "classification":
        labels = rng.integers(0, 3, n)
        kwargs["num_classes"] = 3
    else:
        labels = (rng.random((n, 4)) < 0.3).astype(int)
        kwargs.update(task="classification", num_classes=4, multi_label=True)
    split = Split(features, labels, np.arange(n).astype(str), lengths)
    return MultimodalDataset({"train": split}, **kwargs)["train"]


def as_numpy(dataset):
    return [keras.tree.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def assert_same_batches(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        keras.tree.assert_same_structure(a, b)
        for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b), strict=True):
            np.testing.assert_array_equal(u, v)


def assert_view_spec(view_spec, modalities=tuple(DIMS)):
    assert set(view_spec) == set(modalities) | {f"{m}_mask" for m in modalities}
    for m in modalities:
        assert view_spec[m].shape.as_list() == [None, STEPS[m], DIMS[m]]
        assert view_spec[f"{m}_mask"].shape.as_list() == [None, STEPS[m]]
        assert view_spec[m].dtype == tf.float32
        assert view_spec[f"{m}_mask"].dtype == tf.float32


def test_training_batch_contract():
    split = tiny_data(40)
    dataset = make_dataset(split, training=True, batch_size=16, seed=0)
    x_spec, y_spec = dataset.element_spec
    assert set(x_spec) == {"view_a", "view_b"}
    assert_view_spec(x_spec["view_a"])
    assert_view_spec(x_spec["view_b"])
    assert y_spec.shape.as_list() == [None, 1] and y_spec.dtype == tf.float32
    batches = as_numpy(dataset)
    assert int(dataset.cardinality()) == len(batches) == 3
    assert [len(y) for _, y in batches] == [16, 16, 8]
    x, y = batches[0]
    for view in x.values():
        for m in DIMS:
            mask = view[f"{m}_mask"]
            np.testing.assert_array_equal(view[m][mask == 0], 0.0)
            assert np.all(view[m][mask == 1] > 0)


def test_evaluation_batch_contract():
    split = tiny_data(30)
    dataset = make_dataset(split, training=False, batch_size=8, condition="la")
    x_spec, y_spec = dataset.element_spec
    assert_view_spec(x_spec)
    assert y_spec.shape.as_list() == [None, 1]
    batches = as_numpy(dataset)
    assert [len(y) for _, y in batches] == [8, 8, 8, 6]
    # No shuffling in evaluation: the split's order.
    labels = np.concatenate([y[:, 0] for _, y in batches])
    np.testing.assert_array_equal(labels, split.labels)


def test_classification_labels():
    for task, shape in [("classification", [None]), ("multi_label", [None, 4])]:
        split = tiny_data(20, task=task)
        for training in (True, False):
            dataset = make_dataset(
                split, training=training, batch_size=20, shuffle=False
            )
            y_spec = dataset.element_spec[1]
            assert y_spec.shape.as_list() == shape and y_spec.dtype == tf.int32
            (_, y), *_ = as_numpy(dataset)
            np.testing.assert_array_equal(y, split.labels)


def test_only_the_splits_modalities_appear():
    split = tiny_data(30, modalities=("text", "vision"))
    train = make_dataset(split, training=True, batch_size=30, seed=1)
    assert_view_spec(train.element_spec[0]["view_a"], ("text", "vision"))
    (x, _), *_ = as_numpy(train)
    held = [
        np.stack([x[v][f"{m}_mask"].any(1) for m in ("text", "vision")], 1)
        for v in ("view_a", "view_b")
    ]
    assert np.all(held[0].any(1)) and np.all(np.any(held[0] != held[1], axis=1))
    test = make_dataset(split, training=False, batch_size=8, condition="lav")
    assert_view_spec(test.element_spec[0], ("text", "vision"))


def test_epochs_are_fresh_and_reproducible_from_the_seed():
    split = tiny_data(40)
    tf.random.set_seed(1)
    first = make_dataset(split, training=True, batch_size=16, seed=7)
    epochs = [as_numpy(first) for _ in range(3)]
    tf.random.set_seed(99)  # TensorFlow's global seed plays no part
    second = make_dataset(split, training=True, batch_size=16, seed=7)
    for epoch in epochs:
        assert_same_batches(epoch, as_numpy(second))
    orders = [np.concatenate([y[:, 0] for _, y in epoch]) for epoch in epochs]
    for order in orders:  # every epoch is a permutation of the split
        np.testing.assert_array_equal(np.sort(order), np.sort(split.labels))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(
        epochs[0][0][0]["view_a"]["text_mask"], epochs[1][0][0]["view_a"]["text_mask"]
    )
    other = as_numpy(make_dataset(split, training=True, batch_size=16, seed=8))
    assert not np.array_equal(
        other[0][0]["view_a"]["text_mask"], epochs[0][0][0]["view_a"]["text_mask"]
    )


def test_training_without_shuffle_keeps_order_with_fresh_masks():
    split = tiny_data(20)
    dataset = make_dataset(split, training=True, batch_size=10, shuffle=False)
    first, second = as_numpy(dataset), as_numpy(dataset)
    for epoch in (first, second):
        np.testing.assert_array_equal(
            np.concatenate([y[:, 0] for _, y in epoch]), split.labels
        )
    assert not np.array_equal(
        first[0][0]["view_b"]["audio_mask"], second[0][0]["view_b"]["audio_mask"]
    )


def test_evaluation_masks_do_not_depend_on_batch_size_or_iteration():
    split = tiny_data(40)

    def masks(batch_size):
        dataset = make_dataset(
            split, training=False, batch_size=batch_size, drop_rate=0.3, seed=4
        )
        batches = as_numpy(dataset)
        return np.concatenate([x["text_mask"] for x, _ in batches]), dataset

    small, dataset = masks(7)
    large, _ = masks(32)
    np.testing.assert_array_equal(small, large)
    again = np.concatenate([x["text_mask"] for x, _ in as_numpy(dataset)])
    np.testing.assert_array_equal(small, again)
    np.testing.assert_allclose(1 - small.mean(), 0.3, atol=0.06)
    # Shuffled evaluation: the masks travel with their samples.
    shuffled = as_numpy(
        make_dataset(
            split, training=False, batch_size=7, drop_rate=0.3, seed=4, shuffle=True
        )
    )
    labels = np.concatenate([y[:, 0] for _, y in shuffled])
    position = np.argsort(split.labels)[np.searchsorted(np.sort(split.labels), labels)]
    moved = np.concatenate([x["text_mask"] for x, _ in shuffled])
    np.testing.assert_array_equal(moved, small[position])


def test_evaluation_equals_apply_condition():
    split = tiny_data(25)
    for condition, drop_rate in [("la", 0.0), ("av", 1.0), ("v", 0.0)]:
        dataset = make_dataset(
            split,
            training=False,
            batch_size=10,
            condition=condition,
            drop_rate=drop_rate,
        )
        batches = as_numpy(dataset)
        expected = apply_condition(split.features, condition, drop_rate)
        for key, value in expected.items():
            got = np.concatenate([x[key] for x, _ in batches])
            np.testing.assert_array_equal(got, value)


def test_frames_beyond_lengths_are_absent():
    rng = np.random.default_rng(0)
    lengths = {"audio": rng.integers(0, 11, 30), "vision": rng.integers(1, 9, 30)}
    split = tiny_data(30, lengths=lengths)
    for training in (True, False):
        dataset = make_dataset(split, training=training, batch_size=30, shuffle=False)
        (x, _), *_ = as_numpy(dataset)
        views = [x["view_a"], x["view_b"]] if training else [x]
        for view in views:
            for m, valid in lengths.items():
                beyond = np.arange(STEPS[m])[None] >= valid[:, None]
                assert np.all(view[f"{m}_mask"][beyond] == 0)
                assert np.all(view[m][beyond] == 0)
        if not training:
            np.testing.assert_array_equal(x["audio_mask"].sum(1), lengths["audio"])


def test_uncached_and_memory_mapped_arrays_give_the_same_batches(tmp_path):
    split = tiny_data(30)
    np.save(tmp_path / "text.npy", split.features["text"])
    mapped = Split(
        {**split.features, "text": np.load(tmp_path / "text.npy", mmap_mode="r")},
        split.labels,
        split.ids,
    )
    for training in (True, False):
        kwargs = dict(training=training, batch_size=8, seed=3, drop_rate=0.0)
        cached = as_numpy(make_dataset(split, cache=True, **kwargs))
        streamed = as_numpy(make_dataset(mapped, cache=False, **kwargs))
        assert_same_batches(cached, streamed)


def test_drop_remainder_and_parallel_order():
    split = tiny_data(40)
    dataset = make_dataset(
        split, training=True, batch_size=16, drop_remainder=True, deterministic=False
    )
    assert int(dataset.cardinality()) == 2
    assert [len(y) for _, y in as_numpy(dataset)] == [16, 16]


def test_argument_errors():
    split = tiny_data(10)
    data = MultimodalDataset({"train": split})
    with pytest.raises(TypeError, match=r"data\['train'\]"):
        make_dataset(data, training=True, batch_size=4)
    with pytest.raises(ValueError, match=r"drop_rate=1\.5"):
        make_dataset(split, training=False, batch_size=4, drop_rate=1.5)
    with pytest.raises(ValueError, match=r"p_max=2"):
        make_dataset(split, training=True, batch_size=4, p_max=2)
    with pytest.raises(ValueError, match="'lq'"):
        make_dataset(split, training=False, batch_size=4, condition="lq")
    with pytest.raises(ValueError, match="training=True"):
        make_dataset(split, training=True, batch_size=4, condition="la")
    with pytest.raises(
        ValueError, match="batch_size must be a positive int; received 0"
    ):
        make_dataset(split, training=True, batch_size=0)
    with pytest.raises(ValueError, match="fewer than batch_size=16"):
        make_dataset(split, training=True, batch_size=16, drop_remainder=True)


def tiny_models(modalities=tuple(DIMS)):
    """A functional model on one view, and one on two views sharing its weights."""

    def view_inputs(prefix):
        inputs = {}
        for m in modalities:
            inputs[m] = keras.Input((STEPS[m], DIMS[m]), name=f"{prefix}{m}")
            inputs[f"{m}_mask"] = keras.Input((STEPS[m],), name=f"{prefix}{m}_mask")
        # Sorted: Keras 3.15 on torch matches nested dict inputs in key order.
        return {key: inputs[key] for key in sorted(inputs)}

    dense = keras.layers.Dense(1)

    def head(view):
        pooled = [keras.ops.mean(view[m], axis=1) for m in modalities]
        counts = [
            keras.ops.mean(view[f"{m}_mask"], axis=1, keepdims=True) for m in modalities
        ]
        return dense(keras.ops.concatenate(pooled + counts, axis=-1))

    single = view_inputs("")
    one_view = keras.Model(single, head(single))
    views = {"view_a": view_inputs("a_"), "view_b": view_inputs("b_")}
    average = (head(views["view_a"]) + head(views["view_b"])) / 2
    two_views = keras.Model(views, average)
    return one_view, two_views


@pytest.mark.requires_trainable_backend
def test_fit_and_evaluate_on_this_backend():
    split = tiny_data(48)
    train = make_dataset(split, training=True, batch_size=16, seed=0)
    test = make_dataset(split, training=False, batch_size=16, condition="la")
    one_view, two_views = tiny_models()
    two_views.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = two_views.fit(train, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 3
    assert np.all(np.isfinite(history.history["loss"]))
    one_view.compile(loss="mse")
    loss = one_view.evaluate(test, verbose=0)
    predictions = one_view.predict(test, verbose=0)
    assert np.isfinite(loss) and predictions.shape == (48, 1)
