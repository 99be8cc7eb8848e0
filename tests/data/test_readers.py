import numpy as np
import pytest

from keras_umdf.data import load_dataset
from keras_umdf.data.readers import infer_format
from keras_umdf.data.synthetic import synthetic
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import mmsa_splits
from tests.data.fake_files import mult_splits
from tests.data.fake_files import write_csd
from tests.data.fake_files import write_pickle
from tests.without_tensorflow import run_without_tensorflow
from tests.without_tensorflow import skip_on_tensorflow


@pytest.mark.parametrize(
    "source,expected",
    [
        ("data/mosi_data.pkl", "mult"),
        ("data/iemocap_data_noalign.pkl", "mult"),
        ("MOSI/Processed/aligned_50.pkl", "mmsa"),
        ("unaligned_50.pkl", "mmsa"),
        ("features.pickle", "pickle"),
        ("CMU_MOSI_COVAREP.csd", "csd"),
        ({"text": "t.csd", "labels": "l.csd"}, "csd"),
        ("mosi", "synthetic"),
        ("IEMOCAP", "synthetic"),
        ("cmu_mosei/unaligned", "tfds"),
    ],
)
def test_infer_format(source, expected):
    assert infer_format(source) == expected


def test_unknown_formats():
    with pytest.raises(ValueError, match="Cannot tell the format of 'data.npz'"):
        load_dataset("data.npz")
    with pytest.raises(ValueError, match="Unknown format 'hdf5'.*'mult'"):
        load_dataset("x.h5", format="hdf5")
    with pytest.raises(ValueError, match="synthetic dataset is one of"):
        load_dataset("sims", format="synthetic")
    with pytest.raises(ValueError, match="selects the synthetic mosi"):
        load_dataset("other.pkl", format="mosi")


def test_pickles_by_name_and_by_content(tmp_path, rng):
    mult = mult_splits(rng, iemocap=True)
    by_name = load_dataset(write_pickle(tmp_path / "iemocap_data.pkl", mult))
    by_content = load_dataset(write_pickle(tmp_path / "my_iemocap.pickle", mult))
    by_format = load_dataset(tmp_path / "my_iemocap.pickle", format="mult")
    for data in (by_name, by_content, by_format):
        assert data.multi_label
        np.testing.assert_array_equal(
            data["valid"].labels, mult["valid"]["labels"][..., 1]
        )
    assert by_content.name == "my_iemocap"

    mmsa = mmsa_splits(rng, aligned=False)
    by_name = load_dataset(write_pickle(tmp_path / "unaligned_50.pkl", mmsa))
    by_content = load_dataset(
        write_pickle(tmp_path / "mosi.pkl", mmsa), label="classification"
    )
    np.testing.assert_array_equal(
        by_name["test"].labels, mmsa["test"]["regression_labels"]
    )
    np.testing.assert_array_equal(
        by_content["test"].labels, mmsa["test"]["classification_labels"]
    )
    assert by_content["test"].lengths is not None

    neither = write_pickle(tmp_path / "other.pkl", {"train": {"x": np.zeros(2)}})
    with pytest.raises(ValueError, match=r"other.pkl.*neither.*\['x'\]"):
        load_dataset(neither)


def test_csd_dict(tmp_path):
    video = {"v": (np.ones((2, 3), np.float32), np.array([[0.0, 1.0], [1.0, 2.0]]))}
    labels = {"v": (np.array([[2.5]]), np.array([[0.0, 2.0]]))}
    paths = {
        m: write_csd(tmp_path / f"{m}.csd", m, video)
        for m in ("text", "audio", "vision")
    }
    label_path = write_csd(tmp_path / "labels.csd", "labels", labels)
    data = load_dataset({**paths, "labels": label_path}, sequence_length=3)
    assert data["all"].labels.tolist() == [2.5]
    np.testing.assert_array_equal(
        data["all"].features["audio"][0], [[0] * 3, [1] * 3, [1] * 3]
    )
    same = load_dataset(paths, format="csd", labels=label_path, sequence_length=3)
    np.testing.assert_array_equal(
        same["all"].features["text"], data["all"].features["text"]
    )
    with pytest.raises(ValueError, match="needs the label file"):
        load_dataset(paths)
    with pytest.raises(ValueError, match="takes a dict of .csd paths"):
        load_dataset(label_path, format="csd")


def test_synthetic_names():
    kwargs = {"scale": 0.002, "sequence_length": 3, "seed": 4}
    kwargs["modality_dims"] = {"text": 4, "audio": 2, "vision": 3}
    want = synthetic("iemocap", **kwargs)
    for got in (
        load_dataset("iemocap", **kwargs),
        load_dataset(None, format="iemocap", **kwargs),
        load_dataset("iemocap", format="synthetic", **kwargs),
    ):
        assert got.name == want.name and got.multi_label
        np.testing.assert_array_equal(
            got["train"].features["text"], want["train"].features["text"]
        )


READ_WITHOUT_TENSORFLOW = """
import pickle
import numpy as np
from keras_umdf.data import load_dataset
rng = np.random.default_rng(0)
split = {
    "text": rng.normal(size=(2, 3, 4)),
    "audio": rng.normal(size=(2, 3, 2)),
    "vision": rng.normal(size=(2, 3, 2)),
    "labels": np.zeros((2, 1, 1)),
}
path = sys.argv[1] + "/mosi_data.pkl"
with open(path, "wb") as file:
    pickle.dump({"train": split}, file)
print(load_dataset(path)["train"].features["text"].shape)
"""


@skip_on_tensorflow
def test_readers_work_without_tensorflow(tmp_path, subprocess_env):
    result = run_without_tensorflow(
        READ_WITHOUT_TENSORFLOW, subprocess_env, str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "(2, 3, 4)"
