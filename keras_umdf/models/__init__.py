"""Models built from the layers: UMDF and its training objective."""

from keras_umdf.models.sdumc import SDUMC
from keras_umdf.models.umdf import UMDF
