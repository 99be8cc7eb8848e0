"""The shared TFDS builder: a MulT pickle from `manual_dir` -> TFDS examples."""

from __future__ import annotations

import inspect

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from keras_umdf.data.mult_pickle import load_mult_pickle
from keras_umdf.modalities import MODALITIES

TFDS_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
"""MulT split name -> TFDS split name (TFDS calls the validation split so)."""


def manual_instructions(name: str, dataset: str, files: dict[str, str]) -> str:
    """The text TFDS shows when the manual files are missing."""
    return f"""\
Put the MulT pickle of {dataset} (Tsai et al., 2019, github.com/yaohungt/Multimodal-Transformer,
"Data Download") in `manual_dir`, under its original name:

- `{files["aligned"]}` for the "aligned" config (the default), and/or
- `{files["unaligned"]}` for the "unaligned" config.

Nothing else is needed; the builder reads the file with keras_umdf's restricted unpickler
(NumPy arrays and plain containers only). Then, after `import keras_umdf.data.tfds`:

    tfds.load("{name}", data_dir=..., download_and_prepare_kwargs={{
        "download_config": tfds.download.DownloadConfig(manual_dir=<that folder>)}})
"""


class _SourceFile:
    """`code_path` of a builder: the file that defines its class.

    TFDS 4.9.10 computes this through `importlib_resources`, a package it only
    declares for Python < 3.9, so on newer Pythons without it every builder
    outside tensorflow_datasets fails while preparing. Giving the path
    directly avoids that code.
    """

    def __get__(self, instance, owner) -> epath.Path:
        return epath.Path(inspect.getfile(owner))


class MultPickleBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the CMU-MOSI, CMU-MOSEI and IEMOCAP builders (not registered).

    A subclass sets `FILES` ({"aligned": file name, "unaligned": file name}),
    `DATASET` (the `load_mult_pickle` dataset name) and
    `MANUAL_DOWNLOAD_INSTRUCTIONS`. Features: "text", "audio", "vision" float32
    (T_m, d_m) (shapes are left open, so that any feature set fits), "label"
    and "id" (str). Splits: train, validation, test.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: MulT pickles from manual_dir."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(
            name="aligned", description="Word-aligned features (one T for all)."
        ),
        tfds.core.BuilderConfig(
            name="unaligned", description="Unaligned features (T per modality)."
        ),
    ]
    FILES: dict[str, str] = {}
    DATASET = ""
    HOMEPAGE = "https://github.com/yaohungt/Multimodal-Transformer"
    code_path = _SourceFile()

    def _label_feature(self) -> tfds.features.Tensor:
        return tfds.features.Tensor(
            shape=(), dtype=np.float32, doc="Sentiment in [-3, 3]."
        )

    def _info(self) -> tfds.core.DatasetInfo:
        features = {
            m: tfds.features.Tensor(
                shape=(None, None), dtype=np.float32, encoding="zlib"
            )
            for m in MODALITIES
        }
        features["label"] = self._label_feature()
        features["id"] = tfds.features.Text()
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(features),
            homepage=self.HOMEPAGE,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        file_name = self.FILES[self.builder_config.name]
        path = dl_manager.manual_dir / file_name
        if not path.exists():
            raise FileNotFoundError(
                f"{self.name}/{self.builder_config.name} needs {file_name!r} in the "
                f"manual_dir {str(dl_manager.manual_dir)!r}, and it is not there.\n"
                + self.MANUAL_DOWNLOAD_INSTRUCTIONS
            )
        data = load_mult_pickle(str(path), dataset=self.DATASET)
        return {
            TFDS_SPLITS.get(name, name): self._generate_examples(split)
            for name, split in data.splits.items()
        }

    def _generate_examples(self, split):
        for index in range(split.num_samples):
            example = {m: split.features[m][index] for m in MODALITIES}
            example["label"] = split.labels[index]
            example["id"] = str(split.ids[index])
            yield index, example
