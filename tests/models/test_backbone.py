"""MultimodalBackbone: the encoder UMDF and SDUMC share."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf import SDUMC
from keras_umdf import UMDF
from keras_umdf.models import MultimodalBackbone
from tests.models.umdf_inputs import DIMS
from tests.models.umdf_inputs import SMALL_CONFIG
from tests.models.umdf_inputs import random_view

BACKBONE = dict(modality_dims=DIMS, hidden_dim=8, num_heads=2, num_layers=1)


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_a_view_becomes_the_joint_sequence(rng):
    backbone = MultimodalBackbone(**BACKBONE, dropout=0.0)
    view = random_view(rng, 3, dims=DIMS, present=("text", "vision"))
    h = numpy(backbone(view))
    assert h.shape == (3, 5, 3 * 8) and np.isfinite(h).all()
    # The stages called one by one give the same sequence as `call`.
    presence = backbone.presence(view)
    z = backbone.interact(backbone.project(view, presence))
    staged, joint_presence = backbone.join(z, presence)
    np.testing.assert_allclose(numpy(staged), h, rtol=1e-6, atol=1e-6)
    assert numpy(joint_presence).all()


def test_config_round_trip_and_saving(rng, tmp_path):
    backbone = MultimodalBackbone(**BACKBONE, mask_mode="masked", joint_length=4)
    config = backbone.get_config()
    assert MultimodalBackbone.from_config(config).get_config() == config
    view = random_view(rng, 2, dims=DIMS)
    model = UMDF(**SMALL_CONFIG, mask_mode="masked", joint_length=4)
    path = str(tmp_path / "umdf.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.backbone, MultimodalBackbone)
    assert loaded.backbone.get_config()["joint_length"] == 4
    np.testing.assert_array_equal(numpy(loaded(view)), numpy(model(view)))


def test_both_models_encode_with_a_backbone(rng):
    umdf = UMDF(**SMALL_CONFIG)
    sdumc = SDUMC(DIMS, hidden_dim=8, num_heads=2, num_layers=1, rnc_dim=4)
    for model in (umdf, sdumc):
        assert isinstance(model.backbone, MultimodalBackbone)
        # Every encoder weight is the backbone's: the task adds only heads.
        encoder = {id(w) for w in model.backbone.weights}
        own = [w.path for w in model.weights if id(w) not in encoder]
        assert not [p for p in own if "mcim" in p or "projection" in p], own
    view = random_view(rng, 2, dims=DIMS)
    np.testing.assert_allclose(
        numpy(umdf.encode(view)), numpy(umdf.backbone(view)), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"modality_dims": {"text": 4}}, "at least two"),
        ({"hidden_dim": 9}, "not divisible by num_heads=2"),
        ({"mask_mode": "drop"}, "received 'drop'"),
        ({"normalize_inputs": "yes"}, "normalize_inputs must be True or False"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultimodalBackbone(**{**BACKBONE, **kwargs})


def test_a_view_that_does_not_fit_is_refused(rng):
    backbone = MultimodalBackbone(**BACKBONE)
    view = random_view(rng, 2, dims=DIMS)
    with pytest.raises(ValueError, match=r"Missing: \['audio'\]"):
        backbone({k: v for k, v in view.items() if not k.startswith("audio")})
    with pytest.raises(ValueError, match="built for \\(batch, time, 5\\)"):
        backbone({**view, "audio": np.zeros((2, 5, 3), "float32")})


@pytest.mark.only_backend("torch")
def test_predict_and_evaluate_refuse_a_dict_they_cannot_use(rng):
    model = UMDF(**SMALL_CONFIG)
    with pytest.raises(ValueError, match=r"predict\(\)'s x has keys \[\].*Missing"):
        model.predict({})
    view = random_view(rng, 2, dims=DIMS)
    with pytest.raises(ValueError, match=r"evaluate\(\)'s x .*unknown: \['txt'\]"):
        model.evaluate({**view, "txt": view["text"]}, np.zeros((2, 1)), verbose=0)
    prediction = model.predict(view, verbose=0)
    assert prediction.shape == (2, 1)
