"""UMDF: classification, ablations, mixed precision and jit training."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import UMDF
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import compile_for_a_quick_check
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


@pytest.mark.parametrize("multi_label", [False, True])
def test_classification_trains_with_js_distillation(pair_config, rng, multi_label):
    num_classes = 4 if multi_label else 3
    model = UMDF(
        **pair_config,
        task="classification",
        num_classes=num_classes,
        multi_label=multi_label,
    )
    compile_for_a_quick_check(model)
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
    compile_for_a_quick_check(model)
    history = fit(model, *regression_batch(rng, 4), 1).history
    assert np.isfinite(history["loss"]).all()


# -------------------------------------------------------------- mixed precision


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_with_float32_predictions(pair_config, rng, policy):
    keras.config.set_dtype_policy(policy)
    model = UMDF(**pair_config)
    compile_for_a_quick_check(model)
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
