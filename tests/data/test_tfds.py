"""TFDS builders on fake MulT pickles (TensorFlow backend: TFDS needs TensorFlow)."""

import numpy as np
import pytest

from keras_umdf.data import load_dataset
from keras_umdf.data import load_mult_pickle
from keras_umdf.modalities import MODALITIES
from tests.data.fake_files import keras_state_untouched  # noqa: F401
from tests.data.fake_files import mult_splits
from tests.data.fake_files import write_pickle

pytestmark = pytest.mark.tf_only


def _assert_same(got, want):
    """Same splits and examples; TFDS orders examples by a hash of their key."""
    assert set(got.splits) == set(want.splits) == {"train", "valid", "test"}
    assert got.task == want.task and got.multi_label == want.multi_label
    assert got.label_names == want.label_names
    for name, split in want.splits.items():
        other = got[name]
        order, other_order = np.argsort(split.ids), np.argsort(other.ids)
        np.testing.assert_array_equal(other.ids[other_order], split.ids[order])
        np.testing.assert_array_equal(other.labels[other_order], split.labels[order])
        for modality in MODALITIES:
            np.testing.assert_array_equal(
                other.features[modality][other_order], split.features[modality][order]
            )


def test_cmu_mosi_from_manual_dir(tmp_path, rng):
    import tensorflow_datasets as tfds

    import keras_umdf.data.tfds as umdf_tfds

    manual = tmp_path / "manual"
    manual.mkdir()
    written = mult_splits(rng)
    written["train"]["audio"][0, 0, 0] = -np.inf  # MulT's audio has -inf
    pickle_path = write_pickle(manual / "mosi_data.pkl", written, protocol=2)
    splits = tfds.load(
        "cmu_mosi",
        data_dir=str(tmp_path / "tfds"),
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir=str(manual))
        },
    )
    assert set(splits) == {"train", "validation", "test"}
    example = next(iter(tfds.as_numpy(splits["test"])))
    assert set(example) == {"text", "audio", "vision", "label", "id"}
    assert example["text"].shape == (8, 6) and example["label"].dtype == np.float32
    _assert_same(umdf_tfds.from_tfds(splits), load_mult_pickle(pickle_path))
    assert "mosi_data.pkl" in umdf_tfds.CmuMosi.MANUAL_DOWNLOAD_INSTRUCTIONS
    assert "mosi_data_noalign.pkl" in umdf_tfds.CmuMosi.MANUAL_DOWNLOAD_INSTRUCTIONS


def test_iemocap_unaligned_through_load_dataset(tmp_path, rng):
    manual = tmp_path / "manual"
    manual.mkdir()
    written = mult_splits(rng, iemocap=True, aligned=False)
    pickle_path = write_pickle(manual / "iemocap_data_noalign.pkl", written)
    data = load_dataset(
        "iemocap/unaligned",
        format="tfds",
        data_dir=tmp_path / "tfds",
        manual_dir=manual,
    )
    assert data.sequence_lengths == {"text": 8, "audio": 11, "vision": 13}
    _assert_same(data, load_mult_pickle(pickle_path))


def test_missing_manual_file_says_which(tmp_path, rng):
    manual = tmp_path / "manual"
    manual.mkdir()
    # An empty manual_dir: TFDS stops with the builder's instructions.
    with pytest.raises(AssertionError, match="mosei_senti_data.pkl"):
        load_dataset(
            "cmu_mosei", format="tfds", data_dir=tmp_path / "tfds", manual_dir=manual
        )
    # The aligned file only, asked for the unaligned config: the builder names it.
    write_pickle(manual / "mosei_senti_data.pkl", mult_splits(rng))
    with pytest.raises(
        FileNotFoundError, match="'mosei_senti_data_noalign.pkl'.*manual_dir"
    ):
        load_dataset(
            "cmu_mosei/unaligned",
            format="tfds",
            data_dir=tmp_path / "tfds",
            manual_dir=manual,
        )
