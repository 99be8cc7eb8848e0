"""TFDS builders for CMU-MOSI, CMU-MOSEI and IEMOCAP, and the TFDS reader.

Importing this subpackage registers the builders `cmu_mosi`, `cmu_mosei` and
`iemocap` with TFDS (it imports TensorFlow and tensorflow-datasets, which the
rest of keras_umdf never does at import):

```python
import tensorflow_datasets as tfds
import keras_umdf.data.tfds  # registers cmu_mosi, cmu_mosei, iemocap

splits = tfds.load(
    "cmu_mosi",  # or "cmu_mosi/unaligned"
    data_dir="~/tensorflow_datasets",
    download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir="~/mult_data")
    },
)
data = keras_umdf.data.tfds.from_tfds(splits)  # or load_dataset(..., format="tfds")
```

Each builder reads the user's MulT pickle (`mosi_data.pkl`, `mosei_senti_data.pkl`,
`iemocap_data.pkl`, or the `_noalign` files for the "unaligned" config) from
`manual_dir`; its `MANUAL_DOWNLOAD_INSTRUCTIONS` says which file to put there.
"""

from keras_umdf.data.tfds.cmu_mosei import CmuMosei
from keras_umdf.data.tfds.cmu_mosi import CmuMosi
from keras_umdf.data.tfds.iemocap import Iemocap
from keras_umdf.data.tfds.reader import from_tfds
from keras_umdf.data.tfds.reader import load_tfds
