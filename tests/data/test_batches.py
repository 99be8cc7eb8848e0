"""`masked_batches`: tf.data where TensorFlow is installed, `MaskedPyDataset` where not."""

import numpy as np
import pytest

import keras_umdf
from keras_umdf.data import MultimodalDataset
from keras_umdf.data import Split
from keras_umdf.data import masked_batches
from keras_umdf.data.pipeline import make_dataset
from tests.without_tensorflow import run_without_tensorflow
from tests.without_tensorflow import skip_on_tensorflow


def tiny_split(n=12, seed=0):
    rng = np.random.default_rng(seed)
    dims = {"text": 3, "audio": 2, "vision": 2}
    features = {
        m: rng.uniform(0.5, 1.5, (n, 6, d)).astype("float32") for m, d in dims.items()
    }
    labels = np.linspace(-3, 3, n).astype("float32")
    split = Split(features, labels, np.arange(n).astype(str))
    return MultimodalDataset({"train": split})["train"]


def test_the_package_attribute_is_the_function():
    assert callable(keras_umdf.data.masked_batches)
    assert keras_umdf.data.masked_batches is masked_batches


def test_with_tensorflow_the_batches_are_the_tf_data_pipelines():
    tf = pytest.importorskip("tensorflow")
    split = tiny_split()
    kwargs = dict(batch_size=5, seed=3)
    test = masked_batches(
        split, training=False, condition="la", drop_rate=0.5, **kwargs
    )
    assert isinstance(test, tf.data.Dataset)
    expected = make_dataset(
        split, training=False, condition="la", drop_rate=0.5, **kwargs
    )
    pairs = zip(test.as_numpy_iterator(), expected.as_numpy_iterator(), strict=True)
    for got, want in pairs:
        np.testing.assert_array_equal(got[0]["audio_mask"], want[0]["audio_mask"])
        assert not got[0]["vision_mask"].any()
    # A resumed run's first epoch draws epoch k's shuffle and masks.
    resumed = masked_batches(split, training=True, first_epoch=2, **kwargs)
    direct = make_dataset(split, training=True, first_epoch=2, **kwargs)
    got = next(resumed.as_numpy_iterator())
    want = next(direct.as_numpy_iterator())
    np.testing.assert_array_equal(got[1], want[1])
    for key in ("text_mask", "audio_mask", "vision_mask"):
        np.testing.assert_array_equal(got[0]["view_a"][key], want[0]["view_a"][key])
    fresh = next(make_dataset(split, training=True, **kwargs).as_numpy_iterator())
    assert not np.array_equal(fresh[1], got[1])


SCRIPT = """
import numpy as np
from keras_umdf.data import MultimodalDataset, Split, masked_batches
from keras_umdf.data import MaskedPyDataset
rng = np.random.default_rng(0)
features = {m: rng.uniform(0.5, 1.5, (12, 6, 2)).astype("float32")
            for m in ("text", "audio", "vision")}
labels = np.linspace(-3, 3, 12).astype("float32")
ids = np.arange(12).astype(str)
split = MultimodalDataset({"train": Split(features, labels, ids)})["train"]
train = masked_batches(split, training=True, batch_size=5, seed=3, first_epoch=2,
                       drop_remainder=True)
test = masked_batches(split, training=False, batch_size=5, condition="la")
assert isinstance(train, MaskedPyDataset) and isinstance(test, MaskedPyDataset)
print(train.epoch, len(train), len(test), float(test[0][0]["vision_mask"].max()))
"""


@skip_on_tensorflow
def test_without_tensorflow_the_batches_are_a_py_dataset(subprocess_env):
    result = run_without_tensorflow(SCRIPT, subprocess_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "2 2 3 0.0"
