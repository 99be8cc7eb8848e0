import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import UMDF
from tests.models.umdf_inputs import DIMS
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import random_view
from tests.models.umdf_inputs import two_views

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fit(model, x, y, epochs, **kwargs):
    return model.fit(x, y, epochs=epochs, batch_size=len(y), verbose=0, **kwargs)


def regression_batch(rng, batch=8, dims=PAIR_DIMS):
    """Two views of the same clips (complete, and with the last modality missing)
    with labels that depend on the text."""
    full = random_view(rng, batch, dims=dims)
    partial = {k: v.copy() for k, v in full.items()}
    last = list(dims)[-1]
    partial[last][:] = 0.0
    partial[f"{last}_mask"][:] = 0.0
    y = np.clip(full["text"].mean(axis=(1, 2)) * 6, -3, 3)[:, None]
    return {"view_a": full, "view_b": partial}, y.astype("float32")


# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(hidden_dim=30, num_heads=4),
            "hidden_dim=30 is not divisible by num_heads=4",
        ),
        (dict(task="ranking"), "task must be one of"),
        (
            dict(modality_dims={"text": 3, "speech": 4}),
            r"Unknown modality names \['speech'\]",
        ),
        (
            dict(modality_dims={"text": 3, "audio": 0}),
            r"modality_dims\['audio'\].*received 0",
        ),
        (dict(modality_dims={"text": 3}), "at least two modalities"),
        (dict(task="classification"), "num_classes"),
        (dict(lambda_fea=-1.0), "lambda_fea must be a finite number >= 0"),
        (dict(task_loss="crossentropy"), "does not fit task='regression'"),
        (dict(fusion="sum"), "fusion must be one of"),
        (dict(num_layers=0), "num_layers must be a positive int; received 0"),
        (dict(encoder_heads=7), "not divisible by encoder_heads=7"),
    ],
)
def test_constructor_validates_arguments(small_config, kwargs, message):
    with pytest.raises(ValueError, match=message):
        UMDF(**{**small_config, **kwargs})


def test_compile_refuses_a_loss(pair_config):
    with pytest.raises(ValueError, match="own objective"):
        UMDF(**pair_config).compile(optimizer="adam", loss="mse")


def test_wrong_inputs_name_the_problem(small_config, rng):
    model = UMDF(**small_config)
    view = random_view(rng, 2, dims={**DIMS, "audio": 7})
    with pytest.raises(ValueError, match=r"audio features have shape \(2, 5, 7\)"):
        model(view)
    view = random_view(rng, 2)
    del view["vision"]
    with pytest.raises(ValueError, match=r"Missing: \['vision'\]"):
        model(view)


# ------------------------------------------------------------------- training


def test_overfits_a_tiny_batch(pair_config, rng):
    model = UMDF(**pair_config)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    x, y = regression_batch(rng)
    history = fit(model, x, y, 120).history
    first, last = history["task_loss"][0], history["task_loss"][-1]
    assert last < first / 10, (first, last)


def test_history_reports_each_term_and_their_weighted_sum(trained):
    history = trained["history"]
    for name in ("task_loss", "fea_loss", "logits_loss"):
        assert history[name][-1] > 0, name
    expected = (
        history["task_loss"][-1]
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
    model = UMDF(**pair_config, lambda_fea=lambda_fea, lambda_logits=lambda_logits)
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


@pytest.mark.parametrize("multi_label", [False, True])
def test_classification_trains_with_js_distillation(pair_config, rng, multi_label):
    num_classes = 4 if multi_label else 3
    model = UMDF(
        **pair_config,
        task="classification",
        num_classes=num_classes,
        multi_label=multi_label,
    )
    model.compile(optimizer="adam")
    x = two_views(rng, 6, dims=PAIR_DIMS)
    if multi_label:
        y = rng.integers(0, 2, size=(6, num_classes)).astype("int32")
    else:
        y = rng.integers(0, num_classes, size=(6,)).astype("int32")
    history = fit(model, x, y, 1).history
    assert history["logits_loss"][0] > 0 and np.isfinite(history["loss"][0])
    out = ops.convert_to_numpy(model(random_view(rng, 3, dims=PAIR_DIMS)))
    expected = (3, num_classes, 2) if multi_label else (3, num_classes)
    assert out.shape == expected and out.dtype == np.float32


@pytest.mark.parametrize(
    "variant", [dict(attention="self"), dict(fusion="concat"), dict(mask_mode="masked")]
)
def test_ablations_and_masked_mode_train(pair_config, rng, variant):
    model = UMDF(**pair_config, **variant)
    model.compile(optimizer="adam")
    history = fit(model, *regression_batch(rng, 4), 1).history
    assert np.isfinite(history["loss"]).all()


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


# ------------------------------------------------------------------ inference


def test_no_cross_sample_leakage_and_finite_for_every_pattern(trained, rng):
    model = trained["model"]
    patterns = [
        ("text",),
        ("audio",),
        ("vision",),
        ("text", "audio"),
        ("text", "vision"),
        ("audio", "vision"),
        ("text", "audio", "vision"),
        (),
    ]
    views = [random_view(rng, 1, present=p) for p in patterns]
    batch = {k: np.concatenate([v[k] for v in views]) for k in views[0]}
    together = ops.convert_to_numpy(model(batch))
    assert np.isfinite(together).all()
    for i, view in enumerate(views):
        alone = ops.convert_to_numpy(model(view))
        np.testing.assert_allclose(alone[0], together[i], rtol=1e-5, atol=1e-6)


def test_one_view_is_copied_into_both_streams(trained, rng):
    model = trained["model"]
    view = random_view(rng, 3)
    one = ops.convert_to_numpy(model(view))
    two = ops.convert_to_numpy(model({"view_a": view, "view_b": view})["prediction"])
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-6)


def test_masked_mode_finite_with_everything_missing(small_config, rng):
    model = UMDF(**small_config, mask_mode="masked")
    out = ops.convert_to_numpy(model(random_view(rng, 2, present=())))
    assert np.isfinite(out).all()


def test_unaligned_modalities_are_resampled(pair_config, rng):
    model = UMDF(**pair_config, joint_length=4)
    view = {
        "text": rng.normal(size=(2, 4, 6)).astype("float32"),
        "audio": rng.normal(size=(2, 9, 5)).astype("float32"),
    }
    out = ops.convert_to_numpy(model(view))
    assert out.shape == (2, 1) and np.isfinite(out).all()


# -------------------------------------------------------------- mixed precision


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_float32_predictions(pair_config, rng, policy):
    keras.config.set_dtype_policy(policy)
    model = UMDF(**pair_config)
    model.compile(optimizer="adam")
    is_scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert is_scaled == (policy == "mixed_float16")
    history = fit(model, *regression_batch(rng, 4), 1).history
    assert np.isfinite(history["loss"]).all()
    out = model(random_view(rng, 2, dims=PAIR_DIMS))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


@pytest.mark.skipif(BACKEND != "tensorflow", reason="XLA jit_compile is TF's switch")
def test_jit_compile(pair_config, rng):
    """On JAX every fit above is jit-compiled already; torch has no jit_compile."""
    model = UMDF(**pair_config)
    model.compile(optimizer="adam", jit_compile=True)
    history = fit(model, *regression_batch(rng, 4), 1).history
    assert np.isfinite(history["loss"]).all()


# ------------------------------------------------------------- saving, logging


LOAD_SCRIPT = """
import sys, numpy as np, keras, keras_umdf
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
view = {k: data[k] for k in data.files}
np.save(sys.argv[3], keras.ops.convert_to_numpy(model(view)))
print("lambdas", model.lambda_fea, model.lambda_logits)
"""


def test_save_and_load_in_a_fresh_process(trained, rng, tmp_path, subprocess_env):
    model = trained["model"]
    view = random_view(rng, 3)
    expected = ops.convert_to_numpy(model(view))
    model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "view.npz", **view)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_SCRIPT,
            str(tmp_path / "m.keras"),
            str(tmp_path / "view.npz"),
            str(tmp_path / "out.npy"),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "lambdas 0.3 0.7" in result.stdout.splitlines(), result.stdout[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_loaded_model_continues_training_with_its_lambdas(trained, rng, tmp_path):
    trained["model"].save(tmp_path / "m.keras")
    model = keras.saving.load_model(tmp_path / "m.keras")
    assert (model.lambda_fea, model.lambda_logits) == (0.3, 0.7)
    assert model.optimizer is not None
    history = fit(model, two_views(rng, 6), rng.normal(size=(6, 1)), 1).history
    assert {"task_loss", "fea_loss", "logits_loss"} <= set(history)
    assert np.isfinite(history["loss"]).all()


def test_weights_only_round_trip_and_mismatch_error(
    trained, small_config, rng, tmp_path
):
    model = trained["model"]
    view = random_view(rng, 2)
    expected = ops.convert_to_numpy(model(view))
    model.save_weights(tmp_path / "w.weights.h5")
    clone = UMDF(**small_config, lambda_fea=0.3, lambda_logits=0.7)
    clone.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(ops.convert_to_numpy(clone(view)), expected)
    other = UMDF(**{**small_config, "num_layers": 2})
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*another configuration"):
        other.load_weights(tmp_path / "w.weights.h5")


def test_corrupt_file_gives_clear_error(tmp_path):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"this is not a keras archive")
    with pytest.raises(ValueError, match="broken.keras"):
        keras.saving.load_model(path)


def test_loss_terms_reach_tensorboard(trained):
    tf = pytest.importorskip("tensorflow")
    tags = set()
    for root, _, files in os.walk(trained["log_dir"] / "train"):
        for name in files:
            for event in tf.compat.v1.train.summary_iterator(os.path.join(root, name)):
                tags.update(v.tag for v in event.summary.value)
    assert {"epoch_task_loss", "epoch_fea_loss", "epoch_logits_loss"} <= tags, tags
