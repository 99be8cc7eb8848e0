"""What the command line runs, callable from Python: resumable training runs, the
evaluation of a model with its report, the paper's reproduction (seeds x
variants x protocol), the UMDF-against-SDUMC comparison and the demo.

Everything here is imported lazily, on first use, so that the command line
can build its parser (and answer `--help`) without importing Keras.
"""

from keras_umdf.lazy_exports import lazy_exports

# Public name -> module (below keras_umdf.experiments) that defines it.
_LAZY = {
    "BestEpochCheckpoint": "best_epoch",
    "KeptEpoch": "best_epoch",
    "run_demo": "demo",
    "evaluate_and_report": "evaluation_run",
    "evaluate_saved_model": "evaluation_run",
    "HistoryFile": "history_file",
    "compare_missing_text": "missing_text",
    "build_model": "model_building",
    "load_umdf_model": "model_file",
    "NaNGuard": "nan_guard",
    "TrainingDiverged": "nan_guard",
    "reproduce": "reproduction",
    "RunDirectory": "run_directory",
    "TrainingResult": "training_run",
    "train_model": "training_run",
    "default_settings": "training_settings",
    "TrainingStateCheckpoint": "training_state",
    "restore_randomness": "training_state",
    "restore_training_state": "training_state",
    "VARIANT_NAMES": "variants",
    "VARIANTS": "variants",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
