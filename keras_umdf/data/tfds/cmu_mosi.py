"""TFDS builder `cmu_mosi`: CMU-MOSI from the user's MulT pickle."""

from keras_umdf.data.tfds.mult_builder import MultPickleBuilder
from keras_umdf.data.tfds.mult_builder import manual_instructions

_FILES = {"aligned": "mosi_data.pkl", "unaligned": "mosi_data_noalign.pkl"}


class CmuMosi(MultPickleBuilder):
    """CMU-MOSI (Zadeh et al., 2016): 2199 opinion clips, sentiment in [-3, 3].

    Splits train / validation / test: 1284 / 229 / 686 clips. Configs
    "aligned" (`mosi_data.pkl`: 50 x 300 GloVe, 50 x 5 COVAREP, 50 x 20 Facet)
    and "unaligned" (`mosi_data_noalign.pkl`: audio 375 frames, vision 500).
    """

    FILES = _FILES
    DATASET = "mosi"
    MANUAL_DOWNLOAD_INSTRUCTIONS = manual_instructions("cmu_mosi", "CMU-MOSI", _FILES)
