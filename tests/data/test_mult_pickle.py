import pickle

import numpy as np
import pytest

from keras_umdf.data import IEMOCAP_EMOTIONS
from keras_umdf.data import load_mult_pickle
from keras_umdf.modalities import MODALITIES
from tests.data.fake_files import SIZES
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import mult_splits
from tests.data.fake_files import py2_pickle
from tests.data.fake_files import write_pickle


def _expected_ids(entry):
    return ["$_$".join(field.decode() for field in row) for row in entry["id"]]


def _assert_round_trip(data, written):
    assert list(data.splits) == ["train", "valid", "test"]
    for split, entry in written.items():
        got = data[split]
        assert got.num_samples == SIZES[split]
        for modality in MODALITIES:
            np.testing.assert_array_equal(got.features[modality], entry[modality])
        assert list(got.ids) == _expected_ids(entry)
        assert got.lengths is None


@pytest.mark.parametrize("aligned", [True, False])
def test_mosi_round_trip(tmp_path, rng, aligned):
    written = mult_splits(rng, aligned=aligned)
    file_name = "mosi_data.pkl" if aligned else "mosi_data_noalign.pkl"
    data = load_mult_pickle(write_pickle(tmp_path / file_name, written, protocol=2))
    _assert_round_trip(data, written)
    assert data.task == "regression"
    for split, entry in written.items():
        np.testing.assert_array_equal(data[split].labels, entry["labels"][:, 0, 0])
        assert data[split].labels.shape == (SIZES[split],)
    assert data.sequence_lengths == (
        {"text": 8, "audio": 8, "vision": 8}
        if aligned
        else {"text": 8, "audio": 11, "vision": 13}
    )
    assert data.name == ("mosi" if aligned else "mosi-unaligned")
    assert data["train"].ids[0] == "trainvid0$_$0.5$_$2.25"


@pytest.mark.parametrize("aligned", [True, False])
def test_iemocap_round_trip(tmp_path, rng, aligned):
    written = mult_splits(rng, iemocap=True, aligned=aligned)
    file_name = "iemocap_data.pkl" if aligned else "iemocap_data_noalign.pkl"
    data = load_mult_pickle(write_pickle(tmp_path / file_name, written))
    _assert_round_trip(data, written)
    assert data.task == "classification" and data.multi_label
    assert data.num_classes == 4 and data.label_names == IEMOCAP_EMOTIONS
    for split, entry in written.items():
        presence = entry["labels"][..., 1].astype(np.int32)
        np.testing.assert_array_equal(data[split].labels, presence)
    # The first clip is only happy: order neutral, happy, sad, angry.
    np.testing.assert_array_equal(data["train"].labels[0], [0, 1, 0, 0])


def test_dataset_from_file_name_or_labels(tmp_path, rng):
    sentiment = mult_splits(rng)
    mosei = load_mult_pickle(write_pickle(tmp_path / "mosei_senti_data.pkl", sentiment))
    assert mosei.name == "mosei" and mosei.task == "regression"
    iemocap = load_mult_pickle(
        write_pickle(tmp_path / "mine.pkl", mult_splits(rng, iemocap=True))
    )
    assert iemocap.task == "classification" and iemocap.name == "iemocap"
    loaded_dict = load_mult_pickle(sentiment, dataset="mosi", name="mine")
    assert loaded_dict.name == "mine"
    np.testing.assert_array_equal(
        loaded_dict["test"].features["text"], sentiment["test"]["text"]
    )


def test_ids_in_other_forms(tmp_path, rng):
    written = mult_splits(rng)
    written["train"]["id"] = np.array([f"clip{i}".encode() for i in range(5)])
    written["valid"]["id"] = np.array(["a", "b", "c"], dtype=object)
    del written["test"]["id"]
    data = load_mult_pickle(write_pickle(tmp_path / "mosi_data.pkl", written))
    assert list(data["train"].ids) == [f"clip{i}" for i in range(5)]
    assert list(data["valid"].ids) == ["a", "b", "c"]
    assert list(data["test"].ids) == [f"test$_${i}" for i in range(4)]


def test_neg_inf_in_audio(tmp_path, rng):
    written = mult_splits(rng)
    written["valid"]["audio"][1, 2, 0] = -np.inf
    path = write_pickle(tmp_path / "mosi_data.pkl", written)
    data = load_mult_pickle(path)
    audio = data["valid"].features["audio"]
    assert audio[1, 2, 0] == 0
    expected = written["valid"]["audio"].copy()
    expected[1, 2, 0] = 0
    np.testing.assert_array_equal(audio, expected)
    with pytest.raises(ValueError, match="mosi_data.pkl.*'audio'.*-inf"):
        load_mult_pickle(path, neg_inf_to_zero=False)


def test_python2_pickle(tmp_path, rng):
    written = mult_splits(rng)
    for entry in written.values():
        entry["id"] = [f"v{i}" for i in range(len(entry["labels"]))]
    path = tmp_path / "mosi_data.pkl"
    path.write_bytes(py2_pickle(written))
    data = load_mult_pickle(path)
    np.testing.assert_array_equal(
        data["test"].features["vision"], written["test"]["vision"]
    )
    assert list(data["valid"].ids) == ["v0", "v1", "v2"]


def test_splits_argument(tmp_path, rng):
    path = write_pickle(tmp_path / "mosi_data.pkl", mult_splits(rng))
    assert list(load_mult_pickle(path, splits=["test"]).splits) == ["test"]
    with pytest.raises(KeyError, match=r"no split 'dev'.*\['train', 'valid', 'test'\]"):
        load_mult_pickle(path, splits=["dev"])


def test_errors_name_the_file(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="absent_data.pkl"):
        load_mult_pickle(tmp_path / "absent_data.pkl")

    written = mult_splits(rng)
    renamed = {"training": written["train"]}
    path = write_pickle(tmp_path / "renamed.pkl", renamed)
    with pytest.raises(
        KeyError, match=r"renamed.pkl.*none of the splits.*\['training'\]"
    ):
        load_mult_pickle(path)

    no_vision = mult_splits(rng)
    del no_vision["valid"]["vision"]
    path = write_pickle(tmp_path / "mosi_data.pkl", no_vision)
    with pytest.raises(KeyError, match=r"mosi_data.pkl.*'valid'.*no 'vision'.*'audio'"):
        load_mult_pickle(path)

    short = mult_splits(rng)
    short["test"]["audio"] = short["test"]["audio"][:2]
    path = write_pickle(tmp_path / "mosi_short.pkl", short)
    with pytest.raises(
        ValueError, match="mosi_short.pkl.*'test'.*'audio' has 2 samples"
    ):
        load_mult_pickle(path)

    wide = mult_splits(rng)
    wide["test"]["text"] = np.zeros((4, 8, 7), np.float32)
    path = write_pickle(tmp_path / "mosi_wide.pkl", wide)
    with pytest.raises(ValueError, match="mosi_wide.pkl.*widths"):
        load_mult_pickle(path)

    path = write_pickle(tmp_path / "iemocap_data.pkl", mult_splits(rng))
    with pytest.raises(ValueError, match=r"iemocap_data.pkl.*\(N, 4, 2\)"):
        load_mult_pickle(path)
    path = write_pickle(tmp_path / "mosi_data.pkl", mult_splits(rng, iemocap=True))
    with pytest.raises(ValueError, match="dataset='iemocap'"):
        load_mult_pickle(path)
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_mult_pickle(path, dataset="sims")

    not_dict = write_pickle(tmp_path / "list.pkl", [1, 2])
    with pytest.raises(ValueError, match="list.pkl.*holds a list"):
        load_mult_pickle(not_dict)
    text = tmp_path / "mosi.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(pickle.UnpicklingError, match="mosi.csv"):
        load_mult_pickle(text)
