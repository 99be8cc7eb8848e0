"""Datasets in one canonical form, the two-view masking pipeline, and file readers.

Everything here is imported lazily: `import keras_umdf` never imports TensorFlow, so
the package works on JAX- or PyTorch-only machines. Only `make_dataset`, the shard
functions and the TFDS builders need TensorFlow, and only when they are used;
`masked_batches` gives tf.data batches where TensorFlow is installed and
`MaskedPyDataset` batches where it is not.
"""

from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.multimodal_dataset import Split
from keras_umdf.data.synthetic import synthetic
from keras_umdf.lazy_exports import lazy_exports

# Public name -> module (below keras_umdf.data) that defines it.
_LAZY = {
    # Two-view masking (NumPy and TensorFlow implementations of one specification,
    # `keras_umdf.data.masking`).
    "ViewSampler": "view_sampler",
    "apply_condition": "condition_views",
    # Pipelines: tf.data (TensorFlow installed) and keras.utils.PyDataset (any
    # backend); `masked_batches` picks the one to use.
    "make_dataset": "pipeline",
    "MaskedPyDataset": "py_dataset",
    "masked_batches": "batches",
    # Streaming from disk.
    "write_shards": "shards",
    "make_dataset_from_shards": "shards",
    # Readers of the field's files.
    "load_dataset": "readers",
    "load_mult_pickle": "mult_pickle",
    "load_mmsa_pickle": "mmsa_pickle",
    "load_csd": "csd",
    "safe_pickle_load": "safe_pickle",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
