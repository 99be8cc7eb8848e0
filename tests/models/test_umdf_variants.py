"""UMDF: classification, ablations, mixed precision and jit training."""

import keras
import numpy as np
import pytest

from keras_umdf import UMDF
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import compile_for_a_quick_check
from tests.models.umdf_inputs import fit
from tests.models.umdf_inputs import random_view
from tests.models.umdf_inputs import regression_batch

BACKEND = keras.backend.backend()


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


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "tensorflow", reason="XLA jit_compile is TF's switch")
def test_jit_compile(pair_config, rng):
    """On JAX every fit above is jit-compiled already; torch has no jit_compile."""
    model = UMDF(**pair_config)
    model.compile(optimizer="adam", jit_compile=True)
    history = fit(model, *regression_batch(rng, 4), 1).history
    assert np.isfinite(history["loss"]).all()
