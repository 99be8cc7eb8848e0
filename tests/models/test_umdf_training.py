"""UMDF: the self-distillation objective and training on every backend."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import UMDF
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import fit
from tests.models.umdf_inputs import regression_batch
from tests.models.umdf_inputs import two_views

# ------------------------------------------------------------------- training


@pytest.mark.slow
def test_overfits_a_tiny_batch(pair_config, rng):
    model = UMDF(**pair_config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, y = regression_batch(rng)
    history = fit(model, x, y, 120).history
    first, last = history["task_loss"][0], history["task_loss"][-1]
    assert last < first / 10, (first, last)


def test_compile_creates_the_optimizer_state_so_the_step_is_traced_once(
    pair_config, rng
):
    # Left to the first traced step, Adam's variables made TensorFlow trace the
    # whole two-view step twice (a step that creates variables is retraced).
    model = UMDF(**pair_config)
    model.compile(optimizer="adam")
    assert model.optimizer.built
    slots = {id(v) for v in model.optimizer.variables}
    assert len(slots) >= 2 * len(model.trainable_variables)
    calls = []
    compute_loss = model.compute_loss

    def counted(*args, **kwargs):
        calls.append(1)
        return compute_loss(*args, **kwargs)

    model.compute_loss = counted
    x, y = regression_batch(rng)
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    # Traced once on TensorFlow and JAX; PyTorch runs each step eagerly.
    assert len(calls) == (2 if keras.backend.backend() == "torch" else 1)


def test_history_reports_each_term_and_their_weighted_sum(trained):
    history = trained["history"]
    for name in ("task_loss", "logits_task_loss", "fea_loss", "logits_loss"):
        assert history[name][-1] > 0, name
    expected = (
        history["task_loss"][-1]
        + history["logits_task_loss"][-1]  # f_y's own task loss, weight 1
        + 0.3 * history["fea_loss"][-1]
        + 0.7 * history["logits_loss"][-1]
    )
    np.testing.assert_allclose(history["loss"][-1], expected, rtol=1e-4)


@pytest.mark.parametrize(
    "lambda_fea, lambda_logits", [(0.0, 1.0), (1.0, 0.0), (0.0, 0.0)]
)
def test_a_term_with_zero_weight_is_not_computed_or_reported(
    pair_config, rng, lambda_fea, lambda_logits
):
    # f_y unsupervised: with both weights 0 the objective is the task loss alone.
    model = UMDF(
        **pair_config,
        lambda_fea=lambda_fea,
        lambda_logits=lambda_logits,
        supervise_logits=False,
    )
    model.compile(optimizer="adam")
    x = two_views(rng, 6, dims=PAIR_DIMS)
    y = rng.normal(size=(6, 1)).astype("float32")
    y_pred = model(x, training=True)
    total = model.compute_loss(x, y, y_pred)
    task = model.compute_task_loss(y, y_pred["prediction"])
    names = {m.name for m in model.metrics}
    assert ("fea_loss" in names) == bool(lambda_fea)
    assert ("logits_loss" in names) == bool(lambda_logits)
    if not lambda_fea and not lambda_logits:
        # Plain single-network training of the same architecture.
        np.testing.assert_allclose(
            ops.convert_to_numpy(total), ops.convert_to_numpy(task)
        )
    else:
        assert float(ops.convert_to_numpy(total)) > float(ops.convert_to_numpy(task))


def test_distillation_warmup_ramps_the_weights_step_by_step(pair_config, rng, tmp_path):
    # One full-batch step per epoch, so each epoch's logs are one step's terms.
    model = UMDF(**pair_config, distillation_warmup=2)
    model.compile(optimizer="adam")
    x, y = regression_batch(rng)
    history = fit(model, x, y, 4).history
    for step, ramp in enumerate([0.0, 0.5, 1.0, 1.0]):
        # f_y's supervision is a task loss: not ramped.
        expected = history["task_loss"][step] + history["logits_task_loss"][step]
        expected += ramp * (history["fea_loss"][step] + history["logits_loss"][step])
        np.testing.assert_allclose(history["loss"][step], expected, rtol=1e-4)
    # The counter stops at the warm-up's end and is saved with the model.
    assert float(ops.convert_to_numpy(model.distillation_ramp.step)) == 2.0
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert loaded.distillation_warmup == 2
    assert float(ops.convert_to_numpy(loaded.distillation_ramp.step)) == 2.0
    # Plain training has nothing to ramp, and no counter.
    plain = UMDF(**pair_config, lambda_fea=0, lambda_logits=0, distillation_warmup=2)
    assert plain.distillation_ramp is None


def test_same_seed_gives_same_weights(pair_config, rng):
    x, y = regression_batch(rng)
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        model = UMDF(**{**pair_config, "dropout": 0.1})
        model.compile(optimizer="adam")
        fit(model, x, y, 2)
        weights.append([ops.convert_to_numpy(w) for w in model.weights])
    assert len(weights[0]) == len(weights[1]) > 0
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
