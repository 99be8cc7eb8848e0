"""keras_umdf: UMDF self-distillation for multimodal sentiment analysis with missing
modalities, on any Keras 3 backend.

Importing this package registers every serializable class, so
`keras.saving.load_model("model.keras")` works after `import keras_umdf`.
TensorFlow is not imported here; the tf.data parts of `keras_umdf.data` import it
when used.

Importing it before TensorFlow also turns on TensorFlow's oneDNN CPU kernels,
unless `TF_ENABLE_ONEDNN_OPTS` is set (`keras_umdf.onednn`).
"""

# First: TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads (through keras).
from keras_umdf import onednn

onednn.prefer_onednn()

from keras_umdf import data  # noqa: E402
from keras_umdf import distribution  # noqa: E402
from keras_umdf import layers  # noqa: E402
from keras_umdf import losses  # noqa: E402
from keras_umdf import metrics  # noqa: E402
from keras_umdf import optimizers  # noqa: E402
from keras_umdf.modalities import CONDITIONS  # noqa: E402
from keras_umdf.modalities import MODALITIES  # noqa: E402
from keras_umdf.models import SDUMC  # noqa: E402
from keras_umdf.models import UMDF  # noqa: E402
from keras_umdf.models import UMDFWithSDUMCParts  # noqa: E402
from keras_umdf.version import __version__  # noqa: E402
