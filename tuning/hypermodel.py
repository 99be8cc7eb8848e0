"""`UMDFHyperModel`: the KerasTuner hypermodel of UMDF's distillation weights."""

from __future__ import annotations

import inspect
import math
import warnings

import keras
import keras_tuner

from keras_umdf import optimizers
from keras_umdf.argument_validation import check_int
from keras_umdf.data.batches import masked_batches
from keras_umdf.data.random_streams import check_rate
from keras_umdf.modalities import DEFAULT_P_MAX
from keras_umdf.models.umdf import UMDF
from tuning.incomplete_conditions_average import IncompleteConditionsAverage
from tuning.objectives import TaskObjective
from tuning.search_space import LAMBDA_NAMES
from tuning.search_space import SearchSpace

LAMBDA_SWITCHES = {
    "lambda_fea": "fea_distillation",
    "lambda_logits": "logits_distillation",
}
"""The boolean hyper-parameter that switches each distillation term on or off."""

_DATASET_ARGUMENTS = ("modality_dims", "task", "num_classes", "multi_label")
_UMDF_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(UMDF.__init__).parameters.items()
    if parameter.default is not inspect.Parameter.empty
}


class UMDFHyperModel(keras_tuner.HyperModel):
    """A KerasTuner `HyperModel` that builds, compiles and trains one UMDF per trial.

    Each trial draws lambda_1 (`lambda_fea`) and lambda_2 (`lambda_logits`) on
    a log scale, with 0 as an explicit choice when `search_space.lambda_off`
    (see `SearchSpace`), the learning rate, and optionally `hidden_dim` and
    `num_layers`; every other UMDF argument is fixed by `model_kwargs`. The
    model is compiled with Adam and the Keras metric of the objective (for
    regression also the other of MAE and Non0 F1, so both are recorded), so
    that the search optimises a validation task metric, never `val_loss`.

    Hyper-parameter names, as KerasTuner records them: "fea_distillation" and
    "logits_distillation" (booleans; only with `lambda_off`), "lambda_fea" and
    "lambda_logits" (active when their switch is on), "learning_rate",
    "hidden_dim", "num_layers" (fixed values are recorded too).

    `fit` takes the training and validation data as `keras_umdf.data.Split`s
    (or ready pipelines) and rebuilds the masking pipeline from `seed` for
    every trial, and `build` seeds the weight initialisation, so that all
    trials see the same views in the same order and differ only in their
    hyper-parameters. A trial whose training loss or objective becomes NaN or
    infinite is stopped (`keras.callbacks.TerminateOnNaN`) and recorded by
    KerasTuner as FAILED, so it can never be the best.

    Args:
        modality_dims: feature width per modality, as `UMDF`.
        task: "regression" or "classification".
        num_classes: classes (or labels, for multi-label) of a classification.
        multi_label: whether each label is a separate absent/present decision.
        search_space: a `SearchSpace`; default `SearchSpace()`.
        objective: a `TaskObjective`; default the task's (validation MAE for
            regression, weighted F1 for classification, mean F1 multi-label).
        learning_rate: Adam's learning rate when the space does not search it.
        warmup_steps: updates over which the learning rate rises linearly to
            its value (`keras_umdf.optimizers.adam`; 0: none).
        p_max: the largest frame-drop rate of the training views (when `fit`
            receives a `Split`; `keras_umdf.data.make_dataset`).
        batch_size: training and validation batch size (when `fit` receives
            `Split`s).
        seed: seed of the weight initialisation and of the data pipeline.
        jit_compile: passed to `compile` ("auto": Keras' default).
        **model_kwargs: fixed `UMDF` arguments, e.g. `num_heads=10`,
            `hidden_dim=40` (when the space does not search it), `dropout`.

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", scale=0.1)
    hypermodel = UMDFHyperModel.for_dataset(data, num_heads=10)
    tuner = keras_tuner.RandomSearch(hypermodel, objective=hypermodel.objective
                                     .to_keras_tuner(), max_trials=10)
    tuner.search(data["train"], validation_data=data["valid"], epochs=5)
    ```
    """

    def __init__(
        self,
        modality_dims: dict[str, int],
        *,
        task: str = "regression",
        num_classes: int | None = None,
        multi_label: bool = False,
        search_space: SearchSpace | None = None,
        objective: TaskObjective | None = None,
        learning_rate: float = 1e-3,
        warmup_steps: int = optimizers.WARMUP_STEPS,
        p_max: float = DEFAULT_P_MAX,
        batch_size: int = 32,
        seed: int = 0,
        jit_compile: bool | str = "auto",
        name: str = "umdf",
        **model_kwargs,
    ):
        super().__init__(name=name)
        clashing = sorted(set(model_kwargs) & {*_DATASET_ARGUMENTS, *LAMBDA_NAMES})
        if clashing:
            raise ValueError(
                f"UMDFHyperModel received {clashing} among the fixed model "
                "arguments; the dataset arguments are explicit arguments, and the "
                "lambdas are searched (fix one with a range whose low == high)."
            )
        search_space = SearchSpace() if search_space is None else search_space
        if not isinstance(search_space, SearchSpace):
            raise ValueError(
                "search_space must be a tuning.SearchSpace; received "
                f"{type(search_space).__name__}."
            )
        for name_ in ("hidden_dim", "num_layers"):
            if getattr(search_space, name_) is not None and name_ in model_kwargs:
                raise ValueError(
                    f"{name_}={model_kwargs[name_]} is fixed but the search space "
                    f"also searches {name_} over {getattr(search_space, name_)}; "
                    "pass one of the two."
                )
        self.modality_dims = dict(modality_dims)
        self.task = task
        self.num_classes = num_classes
        self.multi_label = bool(multi_label)
        self.search_space = search_space
        if objective is None:
            objective = TaskObjective.for_task(task, multi_label)
        else:
            TaskObjective.for_task(
                task, multi_label, objective.metric, objective.incomplete_average
            )
        self.objective = objective
        self.learning_rate = optimizers.check_learning_rate(learning_rate)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0)
        self.p_max = check_rate(
            "p_max", p_max, " It is the largest training frame-drop rate."
        )
        for name_, value in (("batch_size", batch_size), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name_} must be an int >= 0; received {value!r}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; received {batch_size}.")
        self.batch_size = batch_size
        self.seed = seed
        self.jit_compile = jit_compile
        self.model_kwargs = dict(model_kwargs)
        self._check_sizes()

    @classmethod
    def for_dataset(cls, data, **kwargs) -> UMDFHyperModel:
        """A hypermodel whose models fit a `MultimodalDataset`'s inputs and task."""
        return cls(
            dict(data.modality_dims),
            task=data.task,
            num_classes=data.num_classes if data.task == "classification" else None,
            multi_label=bool(data.multi_label),
            **kwargs,
        )

    def _fixed(self, name: str):
        return self.model_kwargs.get(name, _UMDF_DEFAULTS[name])

    def _check_sizes(self) -> None:
        """Every hidden_dim choice must split into the heads (checked here rather
        than failing trial after trial)."""
        hidden_dims = self.search_space.hidden_dim or (self._fixed("hidden_dim"),)
        num_heads = self._fixed("num_heads")
        encoder_heads = self._fixed("encoder_heads") or num_heads
        width = len(self.modality_dims)
        for hidden_dim in hidden_dims:
            if hidden_dim % num_heads or (hidden_dim * width) % encoder_heads:
                raise ValueError(
                    f"hidden_dim={hidden_dim} is not divisible by num_heads="
                    f"{num_heads} (encoder_heads={encoder_heads}); search or fix "
                    "hidden_dim values that are multiples of the number of heads."
                )

    def model_arguments(self, hp) -> dict:
        """Declares the hyper-parameters in `hp` and returns the UMDF arguments.

        Returns:
            The keyword arguments of `UMDF` for this trial, plus
            "learning_rate". A lambda whose switch is off is 0.0.
        """
        space = self.search_space
        arguments = {
            "modality_dims": dict(self.modality_dims),
            "task": self.task,
            "num_classes": self.num_classes,
            "multi_label": self.multi_label,
            **self.model_kwargs,
        }
        for name in LAMBDA_NAMES:
            arguments[name] = _declare_lambda(
                hp, name, getattr(space, name), space.lambda_off
            )
        rate = (
            self.learning_rate if space.learning_rate is None else space.learning_rate
        )
        if isinstance(rate, tuple) and rate[0] != rate[1]:
            arguments["learning_rate"] = hp.Float(
                "learning_rate", rate[0], rate[1], sampling="log"
            )
        else:
            value = rate[0] if isinstance(rate, tuple) else rate
            arguments["learning_rate"] = hp.Fixed("learning_rate", value)
        for name in ("hidden_dim", "num_layers"):
            choices = getattr(space, name) or (self._fixed(name),)
            if len(choices) == 1:
                arguments[name] = hp.Fixed(name, choices[0])
            else:
                arguments[name] = hp.Choice(name, list(choices))
        return arguments

    def build(self, hp) -> UMDF:
        arguments = self.model_arguments(hp)
        learning_rate = arguments.pop("learning_rate")
        keras.utils.set_random_seed(self.seed)
        model = UMDF(**arguments)
        metrics = [self.objective.keras_metric(self.num_classes)]
        if self.task == "regression":
            other = "non0_f1" if self.objective.metric == "mae" else "mae"
            metrics.append(TaskObjective(other).keras_metric())
        model.compile(
            optimizer=optimizers.adam(learning_rate, self.warmup_steps),
            metrics=metrics,
            jit_compile=self.jit_compile,
        )
        # Built now, so that loading a trial's checkpoint (the best model,
        # Hyperband continuing a trial) restores Adam's state with the weights.
        model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp, model, x=None, validation_data=None, callbacks=None, **kwargs):
        """Trains one trial's model; returns the `History`.

        Args:
            hp: the trial's hyper-parameters.
            model: the model `build` returned.
            x: the training `Split` (or a ready two-view pipeline).
            validation_data: the validation `Split` (or a ready pipeline; the
                incomplete-conditions objective needs the `Split`).
            callbacks: KerasTuner's callbacks (and the user's).
            **kwargs: further `model.fit` arguments (`epochs`, `verbose`, ...).

        Raises:
            keras_tuner.errors.FailedTrialError: the loss or the objective
                became NaN or infinite.
        """
        from keras_umdf.data import Split

        if validation_data is None:
            raise keras_tuner.errors.FatalValueError(
                f"The objective {self.objective.name!r} is a validation metric; "
                "pass validation_data (the validation Split) to search()."
            )
        callbacks = list(callbacks or [])
        if self.objective.incomplete_average:
            if not isinstance(validation_data, Split):
                raise keras_tuner.errors.FatalValueError(
                    "The incomplete-conditions objective evaluates the validation "
                    "split under six test conditions, so validation_data must be the "
                    f"keras_umdf.data.Split; received {type(validation_data).__name__}."
                )
            # First, so that KerasTuner's callbacks (appended after the user's)
            # read the value it logs.
            callbacks.insert(
                0,
                IncompleteConditionsAverage(
                    validation_data, batch_size=self.batch_size, seed=self.seed
                ),
            )
        if isinstance(x, Split):
            x = masked_batches(
                x,
                training=True,
                batch_size=self.batch_size,
                seed=self.seed,
                p_max=self.p_max,
            )
            # The pipeline shuffles the clips each epoch from the seed.
            kwargs.setdefault("shuffle", False)
        if isinstance(validation_data, Split):
            validation_data = masked_batches(
                validation_data,
                training=False,
                batch_size=self.batch_size,
                seed=self.seed,
            )
        callbacks.append(keras.callbacks.TerminateOnNaN())
        with warnings.catch_warnings():
            if not model.lambda_logits:
                # f_y only serves the logits distillation: with lambda_2 = 0 it
                # gets no gradient, as intended, and Keras would warn each trial.
                warnings.filterwarnings("ignore", "Gradients do not exist .*f_y")
            history = model.fit(
                x, validation_data=validation_data, callbacks=callbacks, **kwargs
            )
        check_history(history.history, self.objective.name)
        return history

    def to_dict(self) -> dict:
        """The settings that define the search (saved with it, compared on resume)."""
        return {
            "modality_dims": dict(self.modality_dims),
            "task": self.task,
            "num_classes": self.num_classes,
            "multi_label": self.multi_label,
            "search_space": self.search_space.to_dict(),
            "objective": self.objective.to_dict(),
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "model_kwargs": dict(self.model_kwargs),
            # Only when set, so that searches saved before it existed resume.
            **({"p_max": self.p_max} if self.p_max != DEFAULT_P_MAX else {}),
        }


def _declare_lambda(hp, name: str, bounds: tuple[float, float], lambda_off: bool):
    low, high = bounds
    default = 1.0 if low <= 1.0 <= high else math.sqrt(low * high)

    def declare():
        if low == high:
            return hp.Fixed(name, low)
        return hp.Float(name, low, high, sampling="log", default=default)

    if not lambda_off:
        return declare()
    switch = LAMBDA_SWITCHES[name]
    on = hp.Boolean(switch, default=True)
    with hp.conditional_scope(switch, [True]):
        value = declare()
    return value if on else 0.0


def lambda_values(values: dict) -> dict[str, float]:
    """The effective lambdas of a trial's hyper-parameter values (0 when off)."""
    result = {}
    for name, switch in LAMBDA_SWITCHES.items():
        if values.get(switch, True) is False or values.get(name) is None:
            result[name] = 0.0
        else:
            result[name] = float(values[name])
    return result


def check_history(history: dict, objective_name: str) -> None:
    """Raises `FailedTrialError` when the loss or objective stopped being finite.

    Raises:
        keras_tuner.errors.FatalValueError: the objective is not logged.
        keras_tuner.errors.FailedTrialError: an epoch's loss or objective is NaN
            or infinite.
    """
    if objective_name not in history:
        raise keras_tuner.errors.FatalValueError(
            f"The objective {objective_name!r} is not in the fit logs (logged: "
            f"{sorted(history)}); compile the model with its metric and pass "
            "validation data."
        )
    for key in ("loss", objective_name):
        for epoch, value in enumerate(history.get(key, [])):
            if value is None or not math.isfinite(float(value)):
                raise keras_tuner.errors.FailedTrialError(
                    f"Training diverged: {key} is {value} at epoch {epoch + 1}. The "
                    "trial is recorded as failed; a smaller learning rate or smaller "
                    "lambdas avoid it."
                )
