"""TFDS builder `iemocap`: IEMOCAP's four emotions from the user's MulT pickle."""

import numpy as np
import tensorflow_datasets as tfds

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.tfds.mult_builder import MultPickleBuilder
from keras_umdf.data.tfds.mult_builder import manual_instructions

_FILES = {"aligned": "iemocap_data.pkl", "unaligned": "iemocap_data_noalign.pkl"}


class Iemocap(MultPickleBuilder):
    """IEMOCAP (Busso et al., 2008) as MulT ships it: 4453 clips, 4 emotions.

    "label" is int32 (4,): 1 where the emotion is present, in the order
    `IEMOCAP_EMOTIONS` (neutral, happy, sad, angry) of MulT's (N, 4, 2) labels.
    Splits train / validation / test: 2717 / 798 / 938. Configs "aligned"
    (`iemocap_data.pkl`) and "unaligned" (`iemocap_data_noalign.pkl`).
    """

    FILES = _FILES
    DATASET = "iemocap"
    MANUAL_DOWNLOAD_INSTRUCTIONS = manual_instructions("iemocap", "IEMOCAP", _FILES)

    def _label_feature(self) -> tfds.features.Tensor:
        return tfds.features.Tensor(
            shape=(len(IEMOCAP_EMOTIONS),),
            dtype=np.int32,
            doc=f"1 where the emotion is present; order {IEMOCAP_EMOTIONS}.",
        )
