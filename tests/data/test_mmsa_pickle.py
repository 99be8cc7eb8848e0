import numpy as np
import pytest

from keras_umdf.data import load_mmsa_pickle
from keras_umdf.data.mmsa_pickle import MMSA_CLASSES
from keras_umdf.modalities import MODALITIES
from tests.data.fake_files import SIZES
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import mmsa_splits
from tests.data.fake_files import write_pickle


def _without_neg_inf(array):
    return np.where(np.isneginf(array), 0, array)


@pytest.mark.parametrize("aligned", [True, False])
def test_round_trip(tmp_path, rng, aligned):
    written = mmsa_splits(rng, aligned=aligned)
    file_name = "aligned_50.pkl" if aligned else "unaligned_50.pkl"
    data = load_mmsa_pickle(write_pickle(tmp_path / file_name, written, protocol=4))
    assert data.task == "regression"
    assert data.name == ("mmsa-aligned_50" if aligned else "mmsa-unaligned_50")
    assert data.modalities == MODALITIES  # text_bert is not a feature
    assert data.modality_dims == {"text": 8, "audio": 3, "vision": 4}
    for split, entry in written.items():
        got = data[split]
        assert got.num_samples == SIZES[split]
        np.testing.assert_array_equal(got.features["text"], entry["text"])
        np.testing.assert_array_equal(got.features["vision"], entry["vision"])
        # MMSA's -inf audio values become 0, everything else is untouched.
        assert np.isneginf(entry["audio"]).sum() == 2
        np.testing.assert_array_equal(
            got.features["audio"], _without_neg_inf(entry["audio"])
        )
        np.testing.assert_array_equal(got.labels, entry["regression_labels"])
        assert list(got.ids) == entry["id"]
        assert "$_$" in got.ids[0]
        if aligned:
            assert got.lengths is None
        else:
            steps = entry["vision"].shape[1]
            np.testing.assert_array_equal(got.lengths["audio"], entry["audio_lengths"])
            # Lengths recorded before truncation are clipped to T.
            np.testing.assert_array_equal(
                got.lengths["vision"], np.minimum(entry["vision_lengths"], steps)
            )
            assert got.lengths["vision"][0] == steps
            assert sorted(got.lengths) == ["audio", "vision"]


def test_classification_labels(tmp_path, rng):
    written = mmsa_splits(rng)
    data = load_mmsa_pickle(
        write_pickle(tmp_path / "aligned_50.pkl", written), label="classification"
    )
    assert data.task == "classification" and not data.multi_label
    assert data.num_classes == 3 and data.label_names == MMSA_CLASSES
    for split, entry in written.items():
        np.testing.assert_array_equal(
            data[split].labels, entry["classification_labels"]
        )
        assert data[split].labels.dtype == np.int32
    assert data["train"].labels[0] == 1  # the neutral clip


def test_neg_inf_kept_is_an_error(tmp_path, rng):
    path = write_pickle(tmp_path / "aligned_50.pkl", mmsa_splits(rng))
    with pytest.raises(ValueError, match="aligned_50.pkl.*'audio'.*-inf"):
        load_mmsa_pickle(path, neg_inf_to_zero=False)


def test_errors_name_the_file(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="unaligned_50.pkl"):
        load_mmsa_pickle(tmp_path / "unaligned_50.pkl")
    path = write_pickle(tmp_path / "aligned_50.pkl", mmsa_splits(rng))
    with pytest.raises(ValueError, match="label must be one of"):
        load_mmsa_pickle(path, label="multi")

    no_labels = mmsa_splits(rng)
    del no_labels["test"]["regression_labels"]
    path = write_pickle(tmp_path / "no_labels.pkl", no_labels)
    with pytest.raises(
        KeyError, match="no_labels.pkl.*'test'.*'regression_labels'.*'annotations'"
    ):
        load_mmsa_pickle(path)

    bad_lengths = mmsa_splits(rng, aligned=False)
    bad_lengths["valid"]["audio_lengths"] = [1, 2]
    path = write_pickle(tmp_path / "bad_lengths.pkl", bad_lengths)
    with pytest.raises(
        ValueError, match=r"bad_lengths.pkl.*'audio_lengths' must be \(3,\)"
    ):
        load_mmsa_pickle(path)

    ragged = mmsa_splits(rng)
    ragged["train"]["vision"] = ragged["train"]["vision"][:, :, :2]
    path = write_pickle(tmp_path / "ragged.pkl", ragged)
    with pytest.raises(ValueError, match="ragged.pkl.*widths"):
        load_mmsa_pickle(path)

    two_d = mmsa_splits(rng)
    two_d["train"]["audio"] = two_d["train"]["audio"][:, 0]
    path = write_pickle(tmp_path / "two_d.pkl", two_d)
    with pytest.raises(ValueError, match=r"two_d.pkl.*'audio' must be \(N, T, d\)"):
        load_mmsa_pickle(path)
