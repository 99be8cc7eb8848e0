"""UMDF: two-stream inference, saving and loading, TensorBoard logging."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import UMDF
from tests.models.fresh_process import predict_in_fresh_process
from tests.models.umdf_inputs import fit
from tests.models.umdf_inputs import random_view
from tests.models.umdf_inputs import two_views

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


# ------------------------------------------------------------- saving, logging


def test_save_and_load_in_a_fresh_process(trained, rng, tmp_path, subprocess_env):
    model = trained["model"]
    view = random_view(rng, 3)
    expected = ops.convert_to_numpy(model.predict(view, verbose=0))
    predictions, lambdas = predict_in_fresh_process(
        model, view, tmp_path, subprocess_env, ("lambda_fea", "lambda_logits")
    )
    assert lambdas == "0.3 0.7"
    np.testing.assert_array_equal(predictions, expected)


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
