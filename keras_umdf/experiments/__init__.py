"""What the command line runs, callable from Python: resumable training runs, the
evaluation of a model with its report, the paper's reproduction (seeds x
variants x protocol), the UMDF-against-SDUMC comparison and the demo."""

from keras_umdf.experiments.best_epoch import BestEpochCheckpoint
from keras_umdf.experiments.best_epoch import KeptEpoch
from keras_umdf.experiments.demo import run_demo
from keras_umdf.experiments.evaluation_run import evaluate_and_report
from keras_umdf.experiments.evaluation_run import evaluate_saved_model
from keras_umdf.experiments.history_file import HistoryFile
from keras_umdf.experiments.missing_text import compare_missing_text
from keras_umdf.experiments.model_building import build_model
from keras_umdf.experiments.model_file import load_umdf_model
from keras_umdf.experiments.nan_guard import NaNGuard
from keras_umdf.experiments.nan_guard import TrainingDiverged
from keras_umdf.experiments.reproduction import reproduce
from keras_umdf.experiments.run_directory import RunDirectory
from keras_umdf.experiments.training_run import TrainingResult
from keras_umdf.experiments.training_run import train_model
from keras_umdf.experiments.training_settings import default_settings
from keras_umdf.experiments.training_state import TrainingStateCheckpoint
from keras_umdf.experiments.training_state import restore_randomness
from keras_umdf.experiments.training_state import restore_training_state
from keras_umdf.experiments.variants import VARIANT_NAMES
from keras_umdf.experiments.variants import VARIANTS
