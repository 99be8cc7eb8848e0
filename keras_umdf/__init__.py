"""keras_umdf: UMDF self-distillation for multimodal sentiment analysis with missing
modalities, on any Keras 3 backend.

Importing this package registers every serializable class, so
`keras.saving.load_model("model.keras")` works after `import keras_umdf`.
TensorFlow is not imported here; the tf.data parts of `keras_umdf.data` import it
when used.
"""

from keras_umdf import data
from keras_umdf import distribution
from keras_umdf import layers
from keras_umdf import losses
from keras_umdf import metrics
from keras_umdf.modalities import CONDITIONS
from keras_umdf.modalities import MODALITIES
from keras_umdf.models import SDUMC
from keras_umdf.models import UMDF
from keras_umdf.version import __version__
