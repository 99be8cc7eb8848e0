"""Metrics, the evaluation protocol and reports."""

from keras_umdf.evaluation.regression_metrics import regression_metrics
from keras_umdf.evaluation.regression_metrics import weighted_f1
