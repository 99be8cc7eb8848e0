"""SDUMC: construction, the two flows, routing at inference, training, saving."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import SDUMC
from keras_umdf.data import synthetic
from tests.layers.gradients import gradients
from tests.models.fresh_process import predict_in_fresh_process

# Text, audio and a pseudo text (no vision: two streams halve the crossmodal
# attention blocks, and so the compile time).
DIMS = {"text": 6, "audio": 5, "pseudo_text": 7}
CONFIG = dict(
    modality_dims=DIMS,
    hidden_dim=8,
    num_heads=2,
    num_layers=1,
    dropout=0.0,
    rnc_dim=8,
    imagination_dims=[4],
)
TERMS = (
    "task_loss_full",
    "task_loss_missing",
    "mia_loss",
    "interaction_loss",
    "fused_loss",
    "rnc_loss",
)
BATCH, TIME = 8, 5
# Behaviour that does not depend on the backend (argument checks, configs,
# bookkeeping) runs on one; JAX compiles every op of a new model call anew, so
# it runs the tests of the numerics with one set of shapes.
ORCHESTRATION = pytest.mark.only_backend("torch")


def view(rng, batch=BATCH, text=True, dims=DIMS, time=TIME):
    """One view with every stream present, or with the real text missing."""
    x = {
        m: rng.normal(size=(batch, time, d)).astype("float32") for m, d in dims.items()
    }
    for m in dims:
        x[f"{m}_mask"] = np.ones((batch, time), "float32")
    if not text:
        x["text"][:] = 0.0
        x["text_mask"][:] = 0.0
    return x


def labels_of(x):
    """Scores the text and (less) the pseudo text carry."""
    score = x["text"].mean(axis=(1, 2)) * 4 + x["pseudo_text"].mean(axis=(1, 2)) * 2
    return np.clip(score, -3, 3)[:, None].astype("float32")


@pytest.fixture(scope="module")
def trained():
    """One SDUMC with the paper's weights, trained a few steps (shared)."""
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    model = SDUMC(**CONFIG)
    # Eager on TensorFlow (tracing this model takes longer than a few eager
    # steps); compiled on JAX; torch is eager anyway.
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        run_eagerly=keras.backend.backend() == "tensorflow",
    )
    x = view(rng, batch=2 * BATCH)
    y = labels_of(x)
    history = model.fit(x, y, epochs=4, batch_size=BATCH, shuffle=False, verbose=0)
    return {"model": model, "history": history.history, "x": x, "y": y}


# ------------------------------------------------------------------- training


def test_trains_on_both_flows_and_reports_every_term(trained):
    history = trained["history"]
    assert set(TERMS) <= set(history), sorted(history)
    for name in (*TERMS, "loss"):
        assert np.all(np.isfinite(history[name])), (name, history[name])
        assert history[name][-1] > 0, name
    for name in ("loss", "task_loss_full", "task_loss_missing"):
        assert history[name][-1] < history[name][0], (name, history[name])
    weights = dict(zip(TERMS, (0.5, 0.5, 0.1, 0.7, 0.13, 0.5), strict=True))
    # The history is the mean over the epoch's two batches, of each term and of
    # the total; so the total is the weighted sum of the terms.
    expected = sum(w * history[t][-1] for t, w in weights.items())
    np.testing.assert_allclose(history["loss"][-1], expected, rtol=1e-4)


@ORCHESTRATION
def test_evaluate_reports_the_routed_task_loss_only(trained):
    model, x, y = trained["model"], trained["x"], trained["y"]
    logs = model.evaluate(x, y, batch_size=2 * BATCH, verbose=0, return_dict=True)
    assert not set(TERMS) & set(logs)
    prediction = ops.convert_to_numpy(model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["loss"], np.mean((prediction - y) ** 2), rtol=1e-4)


@ORCHESTRATION
def test_a_term_with_zero_weight_is_neither_computed_nor_reported(rng):
    model = SDUMC(**CONFIG, lambda_mia=0.0, lambda_rnc=0.0)
    names = {m.name for m in model.metrics}
    assert {"task_loss_full", "interaction_loss", "fused_loss"} <= names
    assert not {"mia_loss", "rnc_loss"} & names
    outputs = model(view(rng), training=True)
    assert "rnc_full" not in outputs
    # The same network without the double flow: flow 1 trained alone.
    single = SDUMC(
        **CONFIG,
        lambda_full=0.0,
        lambda_missing=1.0,
        lambda_mia=0.0,
        lambda_interaction=0.0,
        lambda_fused=0.0,
        lambda_rnc=0.0,
    )
    assert {m.name for m in single.metrics} & set(TERMS) == {"task_loss_missing"}


@pytest.mark.only_backend("tensorflow", "torch")
def test_stop_gradient_on_the_full_flow_where_sdumc_puts_it(rng):
    """The MIA and interaction terms teach flow 1 and leave flow 0's text
    alone; the fused term pulls both flows."""
    model = SDUMC(**CONFIG)
    x = view(rng)
    names = ("text", "audio", "pseudo_text")
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    text_kernel = index[id(model.projections["text"].kernel)]
    mia_kernel = index[id(model.imagination.transition[0].kernel)]

    def term(name):
        def loss(*arrays):
            out = model(dict(zip(names, arrays, strict=True)), training=True)
            return {
                "mia": lambda: ops.mean(
                    ops.square(
                        out["text_imagined"] - ops.stop_gradient(out["text_real"])
                    )
                ),
                "interaction": lambda: ops.mean(
                    ops.square(
                        out["interaction_missing"]
                        - ops.stop_gradient(out["interaction_full"])
                    )
                ),
                "fused": lambda: ops.mean(
                    ops.square(out["fused_missing"] - out["fused_full"])
                ),
            }[name]()

        grads = gradients(model, loss, [x[m] for m in names])
        return grads[len(names) :]

    # The model's own loss terms are these, weighted (checked on the model).
    for name in ("mia", "interaction"):
        grads = term(name)
        np.testing.assert_array_equal(grads[text_kernel], 0.0, err_msg=name)
        assert np.any(grads[mia_kernel] != 0), name
    assert np.any(term("fused")[text_kernel] != 0)


# ------------------------------------------------------------------ inference


def test_each_sample_is_predicted_by_the_flow_its_text_allows(trained, rng):
    model = trained["model"]
    full, missing = view(rng, batch=4), view(rng, batch=4, text=False)
    batch = {k: np.concatenate([full[k], missing[k]]) for k in full}
    routed = ops.convert_to_numpy(model(batch))
    flows = model(batch, training=True)  # dropout is 0: the same network
    flow_full = ops.convert_to_numpy(flows["prediction_full"])
    flow_missing = ops.convert_to_numpy(flows["prediction_missing"])
    assert routed.shape == (8, 1) and routed.dtype == np.float32
    np.testing.assert_allclose(routed[:4], flow_full[:4], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(routed[4:], flow_missing[4:], rtol=1e-5, atol=1e-6)
    assert not np.allclose(flow_full[4:], flow_missing[4:], atol=1e-3)
    # Without masks, a text of zeros counts as missing; the pseudo text may be
    # left out (zeros). No sample sees another.
    plain = {m: batch[m] for m in ("text", "audio")}
    no_pseudo = ops.convert_to_numpy(model(plain))
    zeros = dict(plain, pseudo_text=np.zeros_like(batch["pseudo_text"]))
    np.testing.assert_allclose(
        no_pseudo, ops.convert_to_numpy(model(zeros)), rtol=1e-5, atol=1e-6
    )
    order = rng.permutation(8)
    shuffled = ops.convert_to_numpy(model({k: v[order] for k, v in batch.items()}))
    np.testing.assert_allclose(shuffled, routed[order], rtol=1e-5, atol=1e-6)


@pytest.mark.only_backend("tensorflow", "torch")
def test_unaligned_streams_are_resampled_to_the_text_length(rng):
    model = SDUMC(**CONFIG)
    x = {
        "text": rng.normal(size=(2, 4, 6)).astype("float32"),
        "audio": rng.normal(size=(2, 9, 5)).astype("float32"),
        "pseudo_text": rng.normal(size=(2, 7, 7)).astype("float32"),
    }
    out = ops.convert_to_numpy(model(x))
    assert out.shape == (2, 1) and np.isfinite(out).all()


@pytest.mark.only_backend("tensorflow", "torch")
def test_mixed_precision_gives_float32_outputs_and_losses(rng):
    keras.config.set_dtype_policy("mixed_bfloat16")
    model = SDUMC(**CONFIG)
    x = view(rng)
    out = model(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    flows = model(x, training=True)
    loss = model.compute_loss(x, labels_of(x), flows)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert np.isfinite(float(ops.convert_to_numpy(loss)))


# ------------------------------------------------------------ saving, errors


@pytest.mark.only_backend("tensorflow", "torch")
def test_save_and_load_in_a_fresh_process(trained, rng, tmp_path, subprocess_env):
    model = trained["model"]
    full, missing = view(rng, batch=3), view(rng, batch=3, text=False)
    batch = {k: np.concatenate([full[k], missing[k]]) for k in full}
    expected = ops.convert_to_numpy(model.predict(batch, verbose=0))
    predictions, weights = predict_in_fresh_process(
        model,
        batch,
        tmp_path,
        subprocess_env,
        ("lambda_full", "lambda_interaction", "lambda_rnc"),
    )
    assert weights == "0.5 0.7 0.5"
    np.testing.assert_array_equal(predictions, expected)


def test_loaded_model_predicts_the_same_in_process(trained, tmp_path):
    """In-process (cheap on JAX, whose fresh process compiles everything anew)."""
    model, x = trained["model"], trained["x"]
    model.save(tmp_path / "sdumc.keras")
    loaded = keras.saving.load_model(tmp_path / "sdumc.keras")
    batch = {k: v[:BATCH] for k, v in x.items()}
    batch["text"][4:] = 0.0
    batch["text_mask"][4:] = 0.0
    np.testing.assert_array_equal(
        ops.convert_to_numpy(loaded(batch)), ops.convert_to_numpy(model(batch))
    )
    assert loaded.optimizer is not None and loaded.lambda_fused == 0.13


@ORCHESTRATION
def test_compile_creates_the_optimizer_state():
    model = SDUMC(**CONFIG)
    model.compile(optimizer="adam")
    assert model.optimizer.built
    assert len(model.optimizer.variables) >= 2 * len(model.trainable_variables)


@ORCHESTRATION
def test_config_round_trip_and_for_dataset():
    model = SDUMC(**CONFIG, lambda_fused=0.2, rnc_similarity="cosine")
    clone = SDUMC.from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()
    data = synthetic(
        "mosei",
        scale=0.001,
        sequence_length=4,
        modality_dims={"text": 6, "audio": 5, "vision": 3},
        pseudo_text=True,
        pseudo_text_dim=7,
    )
    model = SDUMC.for_dataset(data, hidden_dim=8, num_heads=2, num_layers=1)
    assert model.modality_dims == {"text": 6, "audio": 5, "vision": 3, "pseudo_text": 7}
    with pytest.raises(ValueError, match="task='classification'"):
        SDUMC.for_dataset(synthetic("iemocap", scale=0.001, sequence_length=4))
    with pytest.raises(ValueError, match="contradicts the dataset"):
        SDUMC.for_dataset(data, modality_dims={"text": 6, "audio": 5})


@ORCHESTRATION
def test_constructor_errors():
    with pytest.raises(ValueError, match="needs the text"):
        SDUMC({"audio": 5, "vision": 3})
    with pytest.raises(ValueError, match="'smell'"):
        SDUMC({"text": 5, "smell": 3})
    with pytest.raises(ValueError, match="lambda_fused must be a finite number >= 0"):
        SDUMC(**CONFIG, lambda_fused=-0.1)
    with pytest.raises(ValueError, match="both 0"):
        SDUMC(**CONFIG, lambda_full=0.0, lambda_missing=0.0)
    with pytest.raises(ValueError, match="rnc_similarity.*'dot'"):
        SDUMC(**CONFIG, rnc_similarity="dot")
    with pytest.raises(ValueError, match="rnc_temperature"):
        SDUMC(**CONFIG, rnc_temperature=0)
    with pytest.raises(ValueError, match="computes its own objective"):
        SDUMC(**CONFIG).compile(loss="mse")


@ORCHESTRATION
def test_input_errors(rng):
    model = SDUMC(**CONFIG)
    x = view(rng, batch=2)
    with pytest.raises(ValueError, match="two-view batch.*all_streams"):
        model({"view_a": x, "view_b": x})
    with pytest.raises(ValueError, match=r"Missing: \['audio'\]"):
        model({k: v for k, v in x.items() if k != "audio"})
    with pytest.raises(ValueError, match=r"text features have shape \(2, 5, 3\)"):
        model(dict(x, text=np.zeros((2, 5, 3), "float32")))
    no_pseudo = SDUMC(**{**CONFIG, "modality_dims": {"text": 6, "audio": 5}})
    with pytest.raises(ValueError, match="has no pseudo text"):
        no_pseudo(x)
