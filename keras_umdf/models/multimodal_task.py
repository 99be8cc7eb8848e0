"""The training plumbing UMDF and SDUMC share: compile, the task loss, the
bookkeeping of the loss terms, loading weights."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.argument_validation import check_int
from keras_umdf.distribution import scale_loss_for_replicas
from keras_umdf.models.backbone import MultimodalBackbone
from keras_umdf.models.compiling import prepare_optimizer
from keras_umdf.models.compiling import resolve_optimizer

TASKS = ("regression", "classification")
TASK_LOSSES = {"regression": ("mse", "l1"), "classification": ("crossentropy",)}


class MultimodalTask(keras.Model):
    """Base class of the models: a `MultimodalBackbone` and a task's objective.

    A subclass owns its heads and its objective: it sets `self.backbone`, the
    attributes `task`, `task_loss`, `multi_label` and `num_classes` that
    `compute_task_loss` reads, implements `compute_loss` from its outputs
    (ending with `finish_loss`), and names in `TRAINING_TERMS` the entries of
    the `fit` history that only a training batch has. The objective is a
    `compute_loss` override rather than a custom `train_step`: the Keras
    training steps of all three backends call it, and Keras stays in charge of
    gradients, loss scaling, distribution and `jit_compile`.
    """

    TRAINING_TERMS: tuple[str, ...] = ()
    """History entries that one-view (evaluation) batches do not report."""

    LOSS_HINT = "its constructor's task_loss and lambda_* arguments"
    """Where the user chooses the objective, for the message of `compile`."""

    task = "regression"
    task_loss = "mse"
    multi_label = False
    num_classes = None

    def __init__(self, *args, feature_extractors=None, **kwargs):
        """`feature_extractors`: where the model's input features come from, when
        `keras_umdf.features` extracted them (one dict per modality with
        "modality", "name", "version" and "width", as
        `MultimodalDataset.feature_extractors` holds them); None otherwise.
        Saved with the model, so that predicting from clips runs the same
        extractors and features made another way are refused."""
        super().__init__(*args, **kwargs)
        self.feature_extractors = check_feature_extractors(feature_extractors)

    def set_task(self, task, num_classes=None, multi_label=False, task_loss=None):
        """Checks and sets what the model predicts and its task loss.

        Raises:
            ValueError: an unknown task, a missing or bad `num_classes` for
                classification, `multi_label` without classification, or a
                task loss that does not fit the task; the message names the
                received value.
        """
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; received task={task!r}.")
        if task == "classification":
            num_classes = check_int(
                "num_classes (the number of classes for task='classification', or "
                "of labels with multi_label=True)",
                num_classes,
                minimum=2,
            )
        elif multi_label:
            raise ValueError("multi_label=True needs task='classification'.")
        chosen = task_loss or TASK_LOSSES[task][0]
        if chosen not in TASK_LOSSES[task]:
            raise ValueError(
                f"task_loss={task_loss!r} does not fit task={task!r}; use one of "
                f"{TASK_LOSSES[task]}."
            )
        self.task = task
        self.num_classes = num_classes
        self.multi_label = bool(multi_label)
        self.task_loss = chosen

    BACKBONE_ARGUMENTS: tuple[str, ...] = (
        "modality_dims",
        "hidden_dim",
        "num_heads",
        "num_layers",
        "encoder_heads",
        "encoder_layers",
        "intermediate_dim",
        "dropout",
        "attention",
        "joint_length",
    )
    """The constructor arguments passed on to the `MultimodalBackbone`."""

    def create_backbone(self, arguments: dict) -> None:
        """Creates the `MultimodalBackbone` from this model's constructor
        `arguments` (the entries named in `BACKBONE_ARGUMENTS`) and mirrors
        them as attributes of the model, as its other arguments are."""
        picked = {name: arguments[name] for name in self.BACKBONE_ARGUMENTS}
        self.backbone = MultimodalBackbone(
            **picked, dtype=self.dtype_policy, name="backbone"
        )
        for name in self.BACKBONE_ARGUMENTS:
            setattr(self, name, getattr(self.backbone, name))
        self.joint_width = self.backbone.joint_width

    @property
    def projections(self) -> dict:
        """The backbone's `ModalityProjection` layers, by stream."""
        return self.backbone.projections

    def get_config(self):
        config = super().get_config()
        config.update({n: getattr(self, n) for n in self.BACKBONE_ARGUMENTS})
        config["modality_dims"] = dict(self.modality_dims)
        if self.feature_extractors is not None:
            config["feature_extractors"] = [dict(e) for e in self.feature_extractors]
        return config

    def output_units(self) -> int:
        """Units of a prediction head: 1, the classes, or 2 per label."""
        if self.task == "regression":
            return 1
        return 2 * self.num_classes if self.multi_label else self.num_classes

    def compile(self, optimizer="auto", loss=None, **kwargs):
        """Configures training; the loss is the model's own objective.

        The default optimizer, "auto", is the paper's Adam at 1e-3 with its
        step size warmed up over the first 100 updates
        (`keras_umdf.optimizers.adam`; without the warm-up the network settles
        on a near-constant prediction, design decision 13,
        docs/design-decisions.md). Any Keras optimizer or name may be given
        and is used as given.

        Creates the optimizer's variables now (a built model), in the active
        strategy's or distribution's scope, so that TensorFlow traces the
        first training step once rather than twice.

        Raises:
            ValueError: a `loss` is given; the objective is chosen with the
                constructor's arguments.
        """
        name = type(self).__name__
        if loss is not None:
            raise ValueError(
                f"{name} computes its own objective; received loss={loss!r}. "
                f"Choose it with {self.LOSS_HINT}."
            )
        super().compile(optimizer=resolve_optimizer(optimizer), **kwargs)
        prepare_optimizer(self)

    def compile_from_config(self, config):
        """Recompiles a loaded model (Keras skips this for a custom `compile`)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def compute_task_loss(self, y, prediction, sample_weight=None):
        """L_task in float32: MSE or L1 (regression), cross-entropy
        (classification; the mean over labels for multi-label)."""
        prediction = ops.cast(prediction, "float32")
        if self.task == "regression":
            y = ops.reshape(ops.cast(y, "float32"), (-1, 1))
            error = prediction - y
            per_sample = (
                ops.square(error) if self.task_loss == "mse" else ops.abs(error)
            )
            per_sample = per_sample[:, 0]
        else:
            y = ops.cast(y, "int32")
            if not self.multi_label:
                y = ops.reshape(y, (-1,))
            per_sample = keras.losses.sparse_categorical_crossentropy(
                y, prediction, from_logits=True
            )
            if self.multi_label:
                per_sample = ops.mean(per_sample, axis=-1)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            return ops.sum(per_sample * weight) / ops.maximum(ops.sum(weight), 1e-12)
        return ops.mean(per_sample)

    def shape_output(self, logits):
        """Head outputs as float32; (batch, num_classes, 2) for multi-label."""
        logits = ops.cast(logits, "float32")
        if self.multi_label:
            return ops.reshape(logits, (-1, self.num_classes, 2))
        return logits

    def loss_terms(self, y, y_pred, sample_weight=None) -> dict:
        """name -> (weight, value) of every term of the objective for this
        batch, in the order they are added; implemented by each task."""
        raise NotImplementedError

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        """The weighted sum of `loss_terms`, each logged under its name.

        Each term's epoch mean weighs batches by their size, as Keras's own
        `loss` does, so that the logged parts add up to the logged total.
        """
        batch = ops.cast(ops.shape(y)[0], "float32")
        total = 0.0
        for name, (weight, value) in self.loss_terms(y, y_pred, sample_weight).items():
            if name in self.loss_trackers:
                self.loss_trackers[name].update_state(value, sample_weight=batch)
            total = total + weight * value
        for loss in self.losses:
            total = total + ops.cast(ops.sum(loss), "float32")
        # A per-replica mean; under tf.distribute the replicas' gradients are summed.
        return scale_loss_for_replicas(total)

    @classmethod
    def dataset_arguments(cls, data) -> dict:
        """The constructor arguments a `MultimodalDataset` fixes."""
        arguments = {"modality_dims": dict(data.modality_dims)}
        if getattr(data, "feature_extractors", None) is not None:
            arguments["feature_extractors"] = check_feature_extractors(
                data.feature_extractors
            )
        return arguments

    @classmethod
    def for_dataset(cls, data, **kwargs):
        """Creates the model for a `MultimodalDataset`.

        Takes the arguments the data fixes (`dataset_arguments`: the feature
        widths, and the task for UMDF) from `data`, passes every other
        argument through, and fits the input normalisation on `data["train"]`
        when the model has one.

        Raises:
            ValueError: an argument in `kwargs` contradicts the dataset.

        Example:

        ```python
        data = keras_umdf.data.synthetic("iemocap", scale=0.05)
        model = keras_umdf.UMDF.for_dataset(data, num_heads=10)  # 4 labels
        ```
        """
        derived = cls.dataset_arguments(data)
        for key, value in derived.items():
            if key in kwargs and kwargs[key] != value:
                raise ValueError(
                    f"{key}={kwargs[key]!r} contradicts the dataset "
                    f"{getattr(data, 'name', '')!r}, which has {key}={value!r}; "
                    f"leave {key} out to take it from the dataset."
                )
        model = cls(**{**derived, **kwargs})
        if getattr(model.backbone, "normalize_inputs", False) and "train" in getattr(
            data, "splits", ()
        ):
            model.backbone.adapt(data["train"])
        return model

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        training_batch = isinstance(y_pred, dict)
        prediction = y_pred[self.PREDICTION_KEY] if training_batch else y_pred
        logs = super().compute_metrics(x, y, prediction, sample_weight)
        if not training_batch:
            for name in self.TRAINING_TERMS:
                logs.pop(name, None)
        return logs

    IGNORED_INPUTS: tuple[str, ...] = ()
    """Input keys the model accepts and ignores."""

    def predict(self, x, *args, **kwargs):
        """Keras's `predict`, after checking that a dict `x` fits the model (a
        dict it cannot use is refused by name, before Keras takes it apart)."""
        self._check_arrays(x, "predict()")
        return super().predict(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        """Keras's `evaluate`, after the same check of a dict `x` as `predict`."""
        self._check_arrays(x, "evaluate()")
        return super().evaluate(x, *args, **kwargs)

    def _check_arrays(self, x, where: str) -> None:
        if isinstance(x, dict) and not {"view_a", "view_b"} <= set(x):
            self.backbone.check_view(x, f"{where}'s x", ignored=self.IGNORED_INPUTS)

    PREDICTION_KEY = "prediction"
    """The entry of a training batch's outputs that the metrics score."""

    def load_weights(self, filepath, *args, **kwargs):
        """Loads weights saved by `save_weights` (or a `.keras` file's weights).

        Raises:
            ValueError: the file holds weights of a differently configured model,
                or is not a weights file; the message names the file.
        """
        try:
            super().load_weights(filepath, *args, **kwargs)
        except (ValueError, OSError, KeyError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            backbone = self.backbone
            raise ValueError(
                f"Could not load the weights in {str(filepath)!r} into this "
                f"{type(self).__name__} ({self.count_params()} parameters; "
                f"modality_dims={backbone.modality_dims}, hidden_dim="
                f"{backbone.hidden_dim}, num_layers={backbone.num_layers}, task="
                f"{self.task!r}): {reason} The file was probably saved by a model "
                "with another configuration; create the model with the arguments "
                "it was saved with, or load the whole model with "
                "keras.saving.load_model('model.keras')."
            ) from error


EXTRACTOR_KEYS = ("modality", "name", "version", "width")


def check_feature_extractors(extractors):
    """`extractors` as a tuple of dicts with `EXTRACTOR_KEYS` (and "length",
    the rows per clip, where the features folder recorded it), or None.

    Raises:
        ValueError: not a list of such dicts, naming the received value.
    """
    if extractors is None:
        return None
    try:
        checked = tuple(
            {
                "modality": str(e["modality"]),
                "name": str(e["name"]),
                "version": str(e["version"]),
                "width": int(e["width"]),
                **({"length": int(e["length"])} if "length" in e else {}),
            }
            for e in extractors
        )
    except (TypeError, KeyError, ValueError):
        raise ValueError(
            "feature_extractors must be a list of dicts with the keys "
            f"{EXTRACTOR_KEYS} (as keras_umdf.features writes them); received "
            f"{extractors!r}."
        ) from None
    return checked
