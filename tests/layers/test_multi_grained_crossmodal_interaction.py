import keras
import numpy as np
import pytest
from keras import ops

from keras_umdf.layers import MultiGrainedCrossmodalInteraction
from tests.layers import reference
from tests.layers.gradients import gradients
from tests.layers.gradients import weighted_sum
from tests.layers.reference import to_numpy
from tests.layers.saving import save_and_load

pytestmark = pytest.mark.filterwarnings(reference.NUMPY_COPY_WARNING)

B, D = 2, 8
LENGTHS = {"text": 3, "audio": 5, "vision": 7}


@pytest.fixture
def z(rng):
    return {
        m: rng.normal(size=(B, length, D)).astype("float32")
        for m, length in LENGTHS.items()
    }


@pytest.fixture
def masks():
    text = np.ones((B, LENGTHS["text"]), bool)
    text[0, 1] = False
    audio = np.ones((B, LENGTHS["audio"]), bool)
    audio[1] = False  # Row 1: audio missing entirely.
    audio[0, [0, 4]] = False
    return {"text": text, "audio": audio}  # Vision left out: fully present.


def built_layer(attention="crossmodal", **kwargs):
    layer = MultiGrainedCrossmodalInteraction(
        num_heads=2, intermediate_dim=12, attention=attention, **kwargs
    )
    layer.build({m: (None, length, D) for m, length in LENGTHS.items()})
    reference.randomize_weights(layer)
    return layer


def assert_outputs_close(outputs, expected, **tolerance):
    assert list(outputs) == list(expected)
    for m in expected:
        np.testing.assert_allclose(to_numpy(outputs[m]), expected[m], **tolerance)


def test_ragged_lengths_keep_their_shapes(z):
    layer = MultiGrainedCrossmodalInteraction(num_heads=2)
    outputs = layer(z)
    assert {m: tuple(x.shape) for m, x in outputs.items()} == {
        m: (B, length, D) for m, length in LENGTHS.items()
    }
    shapes = {m: (None, length, D) for m, length in LENGTHS.items()}
    assert layer.compute_output_shape(shapes) == shapes


def test_every_attention_has_its_own_weights():
    layer = built_layer()
    assert set(layer.coarse_attention) == set(LENGTHS)
    assert len(layer.fine_attention) == 6
    attentions = [*layer.coarse_attention.values(), *layer.fine_attention.values()]
    assert len({id(a) for a in attentions}) == 9
    # 9 attentions x (4 projections x (kernel, bias) + LN (gamma, beta)), then per
    # modality 2 FFN layers x (kernel, bias) + LN (gamma, beta).
    assert len(layer.trainable_variables) == 9 * 10 + 3 * 6
    assert len({id(v) for v in layer.trainable_variables}) == 9 * 10 + 3 * 6


def test_modality_order_is_text_audio_vision_then_others_sorted(rng):
    layer = MultiGrainedCrossmodalInteraction(num_heads=2)
    layer.build({m: (None, 3, D) for m in ("pose", "vision", "gaze", "text")})
    assert layer.modalities == ("text", "vision", "gaze", "pose")


def test_outputs_do_not_depend_on_the_key_order_of_the_inputs(z):
    layer = built_layer()
    forward = layer(z)
    backward = layer({m: z[m] for m in reversed(list(z))})
    for m in z:
        np.testing.assert_allclose(to_numpy(forward[m]), to_numpy(backward[m]))


def test_matches_numpy_reference_of_eqs_8_9(z, masks):
    layer = built_layer()
    tolerance = {"rtol": 1e-4, "atol": 1e-4}
    assert_outputs_close(layer(z), reference.mcim(layer, z), **tolerance)
    assert_outputs_close(
        layer(z, masks=masks), reference.mcim(layer, z, masks), **tolerance
    )


def test_two_modalities_match_the_reference(z):
    pair = {"text": z["text"], "vision": z["vision"]}
    layer = MultiGrainedCrossmodalInteraction(num_heads=2)
    layer.build({m: x.shape for m, x in pair.items()})
    reference.randomize_weights(layer)
    assert len(layer.fine_attention) == 2
    assert_outputs_close(layer(pair), reference.mcim(layer, pair), rtol=1e-4, atol=1e-4)


def test_self_attention_ablation_matches_reference_and_stays_within_modality(z, masks):
    layer = built_layer(attention="self")
    assert_outputs_close(
        layer(z, masks=masks), reference.mcim(layer, z, masks), rtol=1e-4, atol=1e-4
    )
    other_audio = dict(z, audio=z["audio"] + 1.0)
    np.testing.assert_allclose(
        to_numpy(layer(other_audio)["text"]), to_numpy(layer(z)["text"]), atol=1e-6
    )
    # The paper's crossmodal MCIM does let audio reach text.
    crossmodal = built_layer()
    assert not np.allclose(
        to_numpy(crossmodal(other_audio)["text"]),
        to_numpy(crossmodal(z)["text"]),
        atol=1e-3,
    )


def all_missing_in_row_1():
    masks = {m: np.ones((B, n), bool) for m, n in LENGTHS.items()}
    for mask in masks.values():
        mask[1] = False
    return masks


@pytest.mark.parametrize("attention", ["crossmodal", "self"])
def test_fully_masked_rows_give_finite_outputs(attention, z):
    layer = built_layer(attention=attention)
    masks = all_missing_in_row_1()
    outputs = layer(z, masks=masks)
    for m in z:
        assert np.isfinite(to_numpy(outputs[m])).all()
    assert_outputs_close(outputs, reference.mcim(layer, z, masks), rtol=1e-4, atol=1e-4)


def test_gradients_are_finite_with_fully_masked_rows(z):
    layer = built_layer()
    masks = all_missing_in_row_1()
    names = list(z)
    rng = np.random.default_rng(1)
    weights = {m: rng.normal(size=z[m].shape).astype("float32") for m in names}

    def loss(*xs):
        out = layer(dict(zip(names, xs, strict=True)), masks=masks)
        return sum(weighted_sum(out[m], weights[m]) for m in names)

    grads = gradients(layer, loss, [z[m] for m in names])
    assert all(np.isfinite(g).all() for g in grads)
    assert all(np.abs(g).sum() > 0 for g in grads[: len(names)])


def test_config_round_trip():
    layer = MultiGrainedCrossmodalInteraction(
        num_heads=4, intermediate_dim=16, dropout=0.1, attention="self", name="mcim"
    )
    config = layer.get_config()
    for key, expected in {
        "num_heads": 4,
        "intermediate_dim": 16,
        "dropout": 0.1,
        "attention": "self",
    }.items():
        assert config[key] == expected
    assert MultiGrainedCrossmodalInteraction.from_config(config).get_config() == config


def test_save_and_load_keras_file(z, masks, tmp_path):
    inputs = {m: keras.Input((None, D), name=m) for m in LENGTHS}
    mask_inputs = {m: keras.Input((None,), name=f"{m}_mask") for m in masks}
    named_masks = {f"{m}_mask": x for m, x in mask_inputs.items()}
    layer = MultiGrainedCrossmodalInteraction(num_heads=2, name="mcim")
    outputs = layer(inputs, masks=mask_inputs)
    model = keras.Model({**inputs, **named_masks}, outputs)
    reference.randomize_weights(layer)
    loaded = save_and_load(model, tmp_path)
    assert loaded.get_layer("mcim").modalities == ("text", "audio", "vision")
    batch = {**z, **{f"{m}_mask": mask.astype("float32") for m, mask in masks.items()}}
    expected = model.predict(batch, verbose=0)
    restored = loaded.predict(batch, verbose=0)
    for m in LENGTHS:
        np.testing.assert_allclose(restored[m], expected[m], atol=1e-6)


def test_mixed_bfloat16_runs_softmax_in_float32(z, masks, softmax_dtypes):
    full = built_layer()
    mixed = MultiGrainedCrossmodalInteraction(
        num_heads=2, intermediate_dim=12, dtype="mixed_bfloat16"
    )
    mixed.build({m: (None, length, D) for m, length in LENGTHS.items()})
    mixed.set_weights(full.get_weights())
    outputs = mixed(z, masks=masks)
    assert len(softmax_dtypes) == 9 and set(softmax_dtypes) == {"float32"}
    expected = full(z, masks=masks)
    for m in z:
        assert keras.backend.standardize_dtype(outputs[m].dtype) == "bfloat16"
        output = to_numpy(ops.cast(outputs[m], "float32"))
        assert np.isfinite(output).all()
        np.testing.assert_allclose(output, to_numpy(expected[m]), atol=0.25)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_heads": 0}, "num_heads must be a positive int"),
        ({"num_heads": 2, "intermediate_dim": -1}, "intermediate_dim must be"),
        ({"num_heads": 2, "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"num_heads": 2, "attention": "cross"}, "attention must be one of"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiGrainedCrossmodalInteraction(**kwargs)


def test_different_widths_are_rejected_with_the_shapes(z):
    bad = dict(z, audio=np.zeros((B, 5, 6), "float32"))
    with pytest.raises(ValueError, match=r"one known width d.*'audio': \(2, 5, 6\)"):
        MultiGrainedCrossmodalInteraction(num_heads=2)(bad)


def test_one_modality_is_rejected(z):
    with pytest.raises(ValueError, match=r"at least two.*\['text'\]"):
        MultiGrainedCrossmodalInteraction(num_heads=2)({"text": z["text"]})


def test_wrong_rank_is_rejected(z):
    bad = dict(z, vision=np.zeros((B, D), "float32"))
    with pytest.raises(ValueError, match=r"'vision': \(2, 8\)"):
        MultiGrainedCrossmodalInteraction(num_heads=2)(bad)


def test_heads_must_divide_the_width(z):
    with pytest.raises(ValueError, match="width 8 is not divisible by num_heads=3"):
        MultiGrainedCrossmodalInteraction(num_heads=3)(z)


def test_other_modalities_after_build_are_rejected(z):
    layer = built_layer()
    bad = {"text": z["text"], "audio": z["audio"], "pose": z["vision"]}
    with pytest.raises(ValueError, match=r"built for the modalities.*'pose'"):
        layer(bad)


def test_masks_must_match_their_modality(z):
    layer = built_layer()
    with pytest.raises(
        ValueError, match=r"audio mask must have shape \(batch, T_audio\) = \(2, 5\)"
    ):
        layer(z, masks={"audio": np.ones((B, 4), bool)})
    with pytest.raises(ValueError, match=r"not modalities of this layer"):
        layer(z, masks={"pose": np.ones((B, 4), bool)})
