"""Keras metrics for `model.compile(metrics=[...])` that match the NumPy metrics.

Each accumulates counts across batches, so its epoch value equals the function
of `keras_umdf.evaluation` on all the epoch's samples.
"""

from keras_umdf.metrics.classification_f1 import ClassificationF1
from keras_umdf.metrics.multi_label_f1 import MultiLabelF1
from keras_umdf.metrics.sentiment_accuracy2 import SentimentAccuracy2
from keras_umdf.metrics.sentiment_f1 import SentimentF1
from keras_umdf.metrics.sentiment_mae import SentimentMAE
