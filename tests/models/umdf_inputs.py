"""Small random model inputs for the UMDF tests."""

import keras
import numpy as np

from keras_umdf.modalities import MODALITIES

DIMS = {"text": 6, "audio": 5, "vision": 4}
TIME = 5
SMALL_CONFIG = dict(
    modality_dims=DIMS, hidden_dim=8, num_heads=2, num_layers=1, dropout=0.0
)
# Two modalities halve the attention blocks of MCIM, and so the compile time of
# the tests that only need some model to train.
PAIR_DIMS = {"text": 6, "audio": 5}
PAIR_CONFIG = dict(SMALL_CONFIG, modality_dims=PAIR_DIMS)


def random_view(rng, batch, time=TIME, dims=DIMS, present=MODALITIES):
    """One view: modality arrays, zero where a modality is absent, plus masks."""
    view = {}
    for m, d in dims.items():
        x = rng.normal(size=(batch, time, d)).astype("float32")
        keep = m in present
        view[m] = x if keep else np.zeros_like(x)
        view[f"{m}_mask"] = np.full((batch, time), float(keep), "float32")
    return view


def two_views(rng, batch, dims=DIMS, **kwargs):
    """A two-view batch: view a keeps text (and audio), view b the rest."""
    names = list(dims)
    return {
        "view_a": random_view(rng, batch, dims=dims, present=names[:-1], **kwargs),
        "view_b": random_view(rng, batch, dims=dims, present=names[-1:], **kwargs),
    }


def compile_for_a_quick_check(model, **kwargs):
    """Compiles for a test that trains a step or two only to see that it works.

    TensorFlow traces a graph of this model in about 15 s but runs an eager step
    in about 1 s, so such tests run eagerly there; JAX is the other way round, and
    torch is eager anyway. The compiled TensorFlow path is covered by the tests
    that train longer (overfitting, seeding, the shared trained model).
    """
    eager = keras.backend.backend() == "tensorflow"
    model.compile(optimizer="adam", run_eagerly=eager, **kwargs)


def fit(model, x, y, epochs, **kwargs):
    """Full-batch training for `epochs` steps, silently."""
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
