"""UMDFWithSDUMCParts (the RNC term, the modality imagination), UMDF's own
options beside them, and the pseudo-text stream."""

import keras
import numpy as np
import pytest
from keras import ops

import keras_umdf.models.multimodal_task as task_module
from keras_umdf import SDUMC
from keras_umdf import UMDF
from keras_umdf import UMDFWithSDUMCParts
from keras_umdf.losses import rank_n_contrast
from tests.models.umdf_inputs import PAIR_CONFIG
from tests.models.umdf_inputs import PAIR_DIMS
from tests.models.umdf_inputs import compile_for_a_quick_check
from tests.models.umdf_inputs import random_view
from tests.models.umdf_inputs import regression_batch

# Argument checks, configs and input bookkeeping do not depend on the backend.
ORCHESTRATION = pytest.mark.only_backend("torch")
PARTS = {
    "lambda_rnc": 0.0,
    "rnc_temperature": 2.0,
    "rnc_similarity": "l2",
    "imagine_missing": False,
    "lambda_mia": 0.0,
}
# Distillation and f_y's supervision off, so that the total is the task loss
# plus the term under test.
NO_DISTILLATION = dict(
    PAIR_CONFIG, lambda_fea=0.0, lambda_logits=0.0, supervise_logits=False
)


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


@ORCHESTRATION
def test_the_default_umdf_is_the_papers():
    model = UMDF(**PAIR_CONFIG)
    model.compile(optimizer="adam")
    config = model.get_config()
    assert not set(PARTS) & set(config)
    assert config["supervise_logits"] is True  # design decision 9: real features
    names = {m.name for m in model.metrics}
    assert {"task_loss", "fea_loss", "logits_loss", "logits_task_loss"} <= names
    assert not {"rnc_loss", "mia_loss"} & names
    assert not [w.path for w in model.weights if "imagination" in w.path]
    # SDUMC's options are not UMDF's: its signature refuses them by name.
    with pytest.raises((TypeError, ValueError), match="lambda_rnc"):
        UMDF(**PAIR_CONFIG, lambda_rnc=0.5)


@ORCHESTRATION
def test_with_both_parts_off_it_is_umdf(rng):
    keras.utils.set_random_seed(3)
    plain = UMDF(**PAIR_CONFIG)
    keras.utils.set_random_seed(3)
    parts = UMDFWithSDUMCParts(**PAIR_CONFIG)
    config = parts.get_config()
    assert {k: config.pop(k) for k in PARTS} == PARTS
    assert config == {**plain.get_config(), "name": config["name"]}
    view = random_view(rng, 3, dims=PAIR_DIMS, present=("text",))
    np.testing.assert_array_equal(numpy(parts(view)), numpy(plain(view)))


@ORCHESTRATION
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lambda_rnc": -0.5}, "lambda_rnc must be a finite number >= 0"),
        ({"lambda_rnc": float("nan")}, "received nan"),
        ({"rnc_temperature": 0.0}, "rnc_temperature must be a number > 0"),
        ({"rnc_similarity": "dot"}, "received 'dot'"),
        ({"imagine_missing": "yes"}, "imagine_missing must be True or False"),
        ({"lambda_mia": 0.5}, "pass imagine_missing=True"),
        ({"supervise_logits": 1}, "supervise_logits must be True or False"),
        (
            {"lambda_rnc": 0.5, "task": "classification", "num_classes": 3},
            "needs task='regression'",
        ),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UMDFWithSDUMCParts(**{**PAIR_CONFIG, **kwargs})


# The sum of the terms is checked on JAX by the training test below; the
# formulas' references run where eager calls are cheap.
@pytest.mark.only_backend("tensorflow", "torch")
def test_rnc_and_mia_terms_are_added_with_their_weights(rng):
    model = UMDFWithSDUMCParts(
        **NO_DISTILLATION,
        lambda_rnc=0.7,
        rnc_temperature=1.5,
        imagine_missing=True,
        lambda_mia=0.5,
    )
    model.compile(optimizer="adam")
    x, y = regression_batch(rng)  # view b: audio missing
    y_pred = model(x, training=True)
    total = numpy(model.compute_loss(x, y, y_pred))
    task = numpy(model.compute_task_loss(y, y_pred["prediction"]))
    flows = ops.stack([y_pred["h_a"], y_pred["h_b"]], axis=1)
    rnc = numpy(rank_n_contrast(flows, y[:, 0], temperature=1.5))
    # The MIA term from the formula: per modality, the squared error of the
    # MIA's imagination (from the other modality's present frames) against the
    # real projection, averaged over features and over the present frames.
    both = {k: np.concatenate([x["view_a"][k], x["view_b"][k]]) for k in x["view_a"]}
    errors = []
    for m, other in (("text", "audio"), ("audio", "text")):
        real = numpy(model.projections[m](both[m]))
        mask = ops.convert_to_tensor(both[f"{other}_mask"][..., None])
        source = model.projections[other](both[other]) * mask
        imagined = numpy(model.imaginations[m]([source]))
        error = ((imagined - real) ** 2).mean(axis=-1)
        present = both[f"{m}_mask"]
        errors.append((error * present).sum() / present.sum())
    mia = float(np.mean(errors))
    assert rnc > 0.1 and mia > 0.01
    np.testing.assert_allclose(total, task + 0.7 * rnc + 0.5 * mia, rtol=1e-5)
    np.testing.assert_allclose(
        numpy(model.loss_trackers["rnc_loss"].result()), rnc, rtol=1e-5
    )
    np.testing.assert_allclose(
        numpy(model.loss_trackers["mia_loss"].result()), mia, rtol=1e-5
    )


@pytest.mark.only_backend("tensorflow", "torch")
def test_supervised_logits_add_the_task_loss_of_both_views_logits(rng):
    model = UMDF(**{**NO_DISTILLATION, "supervise_logits": True})
    model.compile(optimizer="adam")
    x, y = regression_batch(rng)
    y_pred = model(x, training=True)
    total = numpy(model.compute_loss(x, y, y_pred))
    task = numpy(model.compute_task_loss(y, y_pred["prediction"]))
    # f_y's outputs against the labels, from the formula: MSE per view, averaged.
    per_view = [
        ((numpy(y_pred[k])[:, 0] - numpy(y)[:, 0]) ** 2).mean()
        for k in ("logits_a", "logits_b")
    ]
    logits_task = 0.5 * sum(per_view)
    assert logits_task > 1e-3
    np.testing.assert_allclose(total, task + logits_task, rtol=1e-5)
    tracked = numpy(model.loss_trackers["logits_task_loss"].result())
    np.testing.assert_allclose(tracked, logits_task, rtol=1e-5)
    assert "logits_task_loss" in {m.name for m in model.metrics}


@ORCHESTRATION
def test_imagination_fills_only_the_absent_frames(rng):
    model = UMDFWithSDUMCParts(**PAIR_CONFIG, imagine_missing=True)
    complete = random_view(rng, 4, dims=PAIR_DIMS)
    no_audio = random_view(rng, 4, dims=PAIR_DIMS, present=("text",))
    before = [numpy(model(v)) for v in (complete, no_audio)]
    for weight in model.imaginations["audio"].weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    after = [numpy(model(v)) for v in (complete, no_audio)]
    np.testing.assert_allclose(after[0], before[0], rtol=1e-6, atol=1e-6)
    assert np.abs(after[1] - before[1]).max() > 1e-3


def test_trains_with_both_options_and_round_trips(rng, tmp_path):
    # Distillation off: fewer ops for JAX to compile; the terms add up alike.
    model = UMDFWithSDUMCParts(**NO_DISTILLATION, lambda_rnc=0.5, imagine_missing=True)
    compile_for_a_quick_check(model)  # eager on TensorFlow: no 1-minute trace
    x, y = regression_batch(rng)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    for name in ("task_loss", "rnc_loss", "mia_loss"):
        assert np.isfinite(history[name]).all() and history[name][-1] > 0, name
    expected = (
        history["task_loss"][-1]
        + 0.5 * history["rnc_loss"][-1]
        + 0.1 * history["mia_loss"][-1]
    )
    np.testing.assert_allclose(history["loss"][-1], expected, rtol=1e-4)
    path = str(tmp_path / "umdf.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == model.get_config()
    view = random_view(rng, 4, dims=PAIR_DIMS, present=("audio",))
    names = [w.path for w in model.weights]
    assert [w.path for w in loaded.weights] == names
    assert any("imagination" in name for name in names)
    for a, b in zip(loaded.weights, model.weights, strict=True):
        np.testing.assert_array_equal(numpy(a), numpy(b))
    if keras.backend.backend() != "jax":  # JAX: a first eager call takes ~15 s
        np.testing.assert_array_equal(numpy(loaded(view)), numpy(model(view)))


@ORCHESTRATION
def test_the_pseudo_text_stream_is_accepted_and_ignored(rng):
    model = UMDF(**PAIR_CONFIG)
    view = random_view(rng, 3, dims=PAIR_DIMS)
    with_pseudo = {
        **view,
        "pseudo_text": rng.normal(size=(3, 5, 7)).astype("float32"),
        "pseudo_text_mask": np.ones((3, 5), "float32"),
    }
    np.testing.assert_array_equal(numpy(model(with_pseudo)), numpy(model(view)))
    both = model({"view_a": with_pseudo, "view_b": view}, training=True)
    plain = model({"view_a": view, "view_b": view}, training=True)
    np.testing.assert_allclose(
        numpy(both["prediction"]), numpy(plain["prediction"]), rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match=r"unknown: \['pseudo_txt'\]"):
        model({**view, "pseudo_txt": with_pseudo["pseudo_text"]})


@pytest.mark.only_backend("tensorflow")
def test_umdf_under_text_missing_sees_audio_and_vision():
    from keras_umdf.data import make_dataset
    from keras_umdf.data import synthetic

    data = synthetic("mosei", scale=0.002, pseudo_text=True)
    model = UMDF.for_dataset(data, hidden_dim=8, num_heads=2, num_layers=1)
    assert "pseudo_text" not in model.modality_dims
    x, _ = next(iter(make_dataset(data["test"], training=False, batch_size=4,
                                  condition="text_missing")))  # fmt: skip
    assert not np.any(x["text"].numpy()) and np.any(x["pseudo_text"].numpy())
    assert np.any(x["audio"].numpy()) and np.any(x["vision"].numpy())
    prediction = numpy(model(dict(x)))
    assert prediction.shape == (4, 1) and np.isfinite(prediction).all()


@ORCHESTRATION
def test_sdumc_loss_is_scaled_for_replicas(rng, monkeypatch):
    dims = {"text": 6, "audio": 5}
    model = SDUMC(dims, hidden_dim=8, num_heads=2, num_layers=1, rnc_dim=4)
    x = random_view(rng, 4, dims=dims)
    y = rng.normal(size=(4, 1)).astype("float32")
    y_pred = model(x, training=True)
    plain = numpy(model.compute_loss(x, y, y_pred))
    # Under tf.distribute with 4 replicas the helper divides by 4.
    monkeypatch.setattr(task_module, "scale_loss_for_replicas", lambda v: v / 4)
    np.testing.assert_allclose(
        numpy(model.compute_loss(x, y, y_pred)), plain / 4, rtol=1e-6
    )
