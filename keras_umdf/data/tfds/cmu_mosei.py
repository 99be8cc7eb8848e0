"""TFDS builder `cmu_mosei`: CMU-MOSEI from the user's MulT pickle."""

from keras_umdf.data.tfds.mult_builder import MultPickleBuilder
from keras_umdf.data.tfds.mult_builder import manual_instructions

_FILES = {
    "aligned": "mosei_senti_data.pkl",
    "unaligned": "mosei_senti_data_noalign.pkl",
}


class CmuMosei(MultPickleBuilder):
    """CMU-MOSEI (Zadeh et al., 2018): 22856 clips, sentiment in [-3, 3].

    Splits train / validation / test: 16326 / 1871 / 4659 clips. Configs
    "aligned" (`mosei_senti_data.pkl`: 50 x 300 GloVe, 50 x 74 COVAREP,
    50 x 35 Facet) and "unaligned" (`mosei_senti_data_noalign.pkl`).
    """

    FILES = _FILES
    DATASET = "mosei"
    MANUAL_DOWNLOAD_INSTRUCTIONS = manual_instructions("cmu_mosei", "CMU-MOSEI", _FILES)
