"""Models built from the layers: UMDF and its training objective."""

from keras_umdf.models.umdf import UMDF
