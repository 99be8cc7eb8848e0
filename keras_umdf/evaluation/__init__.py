"""Metrics, the evaluation protocol and reports."""

from keras_umdf.evaluation.classification_metrics import classification_metrics
from keras_umdf.evaluation.classification_metrics import multilabel_metrics
from keras_umdf.evaluation.joint_representations import joint_representations
from keras_umdf.evaluation.plots import plot_frame_drop_curves
from keras_umdf.evaluation.plots import plot_tsne
from keras_umdf.evaluation.protocol import FRAME_DROP_RATES
from keras_umdf.evaluation.protocol import evaluate_conditions
from keras_umdf.evaluation.protocol import evaluate_protocol
from keras_umdf.evaluation.protocol import frame_drop_curve
from keras_umdf.evaluation.protocol import predict_split
from keras_umdf.evaluation.regression_metrics import regression_metrics
from keras_umdf.evaluation.regression_metrics import weighted_f1
from keras_umdf.evaluation.report import emotion_table
from keras_umdf.evaluation.report import markdown_table
from keras_umdf.evaluation.report import read_results
from keras_umdf.evaluation.report import results_document
from keras_umdf.evaluation.report import results_markdown
from keras_umdf.evaluation.report import single_metric_table
from keras_umdf.evaluation.report import write_results
from keras_umdf.evaluation.seed_aggregation import aggregate_seeds
from keras_umdf.evaluation.task_metrics import task_kind
from keras_umdf.evaluation.task_metrics import task_metrics
from keras_umdf.evaluation.tsne import tsne
