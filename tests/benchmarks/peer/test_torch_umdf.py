"""The PyTorch peer (`benchmarks/peer/torch_umdf.py`) is keras_umdf.UMDF's network."""

import re

import keras
import numpy as np
import pytest

import keras_umdf

torch = pytest.importorskip("torch")

from benchmarks.measure_umdf import TINY  # noqa: E402
from benchmarks.peer.torch_umdf import TorchUMDF  # noqa: E402
from benchmarks.peer.torch_umdf import positional_embedding  # noqa: E402
from benchmarks.peer.torch_umdf import umdf_loss  # noqa: E402

PAPER = {"text": 300, "audio": 74, "vision": 35}


def _pair(keras_model, tiny=True, dropout=0.1):
    kwargs = {k: TINY[k] for k in ("hidden_dim", "num_heads", "num_layers")}
    dims = TINY["modality_dims"] if tiny else PAPER
    if not tiny:
        kwargs = {}
    peer = TorchUMDF(dims, dropout=dropout, **kwargs)
    if keras_model:
        return keras_umdf.UMDF(dims, dropout=dropout, **kwargs), peer
    return None, peer


def _trainable(peer):
    return sum(p.numel() for p in peer.parameters() if p.requires_grad)


@pytest.mark.parametrize("tiny", [True, False], ids=["tiny", "paper"])
def test_the_peer_has_the_trainable_parameters_of_keras_umdf(tiny):
    model, peer = _pair(keras_model=True, tiny=tiny)
    expected = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert _trainable(peer) == expected == model.count_params()
    if not tiny:
        assert expected == 895_203  # The paper's MOSI configuration.


# The first component of a keras_umdf weight's path that the peer mirrors;
# the containers above it (the model, a backbone, a head) are skipped.
_ANCHOR = re.compile(
    r"^(\w+_projection|mcim_\d+|joint_encoder_\d+|final_encoder_\d+|dfim"
    r"|head_hidden|head_output|f_y)$"
)
_LEAVES = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


def _attention(parts):
    name = "norm" if parts[0] == "layer_norm" else parts[0]
    return [name, *parts[1:]]


def peer_parameter(path: str) -> str:
    """The peer's parameter name for a keras_umdf weight path, e.g.
    "umdf/backbone/mcim_0/fine_text_audio/query/kernel" ->
    "mcim.0.fine.text_audio.query.weight"."""
    parts = path.split("/")
    anchor = next(i for i, part in enumerate(parts) if _ANCHOR.match(part))
    layer, *rest = parts[anchor:]
    rest[-1] = _LEAVES[rest[-1]]
    if layer.endswith("_projection"):
        names = ["projections", layer[: -len("_projection")], *rest]
    elif layer.startswith("mcim_"):
        sub, *inner = rest
        if sub.startswith("coarse_"):
            inner = ["coarse", sub[len("coarse_") :], *_attention(inner)]
        elif sub.startswith("fine_"):
            inner = ["fine", sub[len("fine_") :], *_attention(inner)]
        elif sub.startswith("ffn_layer_norm_"):
            inner = ["ffn", sub[len("ffn_layer_norm_") :], "norm", *inner]
        else:  # ffn_<target>_1 (intermediate) or ffn_<target>_2 (output)
            target, which = sub[len("ffn_") :].rsplit("_", 1)
            dense = "intermediate" if which == "1" else "output"
            inner = ["ffn", target, dense, *inner]
        names = ["mcim", layer[len("mcim_") :], *inner]
    elif layer.startswith(("joint_encoder_", "final_encoder_")):
        # One layer per encoder, as the peer has.
        sub, *inner = rest
        if sub == "self_attention":
            inner = ["attention", *_attention(inner)]
        else:
            dense = {"intermediate": "intermediate", "output": "output"}
            inner = ["ffn", dense.get(sub, "norm"), *inner]
        names = [layer.rsplit("_", 1)[0], *inner]
    elif layer == "dfim":
        sub, *inner = rest
        names = ["dfim", "score" if sub == "frame_score" else "gate", *inner]
    else:
        names = [layer, *rest]
    return ".".join(names)


@torch.no_grad()
def copy_weights(model, peer):
    """Every trainable weight of a keras_umdf.UMDF into the peer, by its path."""
    parameters = dict(peer.named_parameters())
    copied = set()
    for variable in model.trainable_variables:
        name = peer_parameter(variable.path)
        array = keras.ops.convert_to_numpy(variable.value)
        if array.ndim == 3:  # Conv1D: Keras (taps, in, out), torch (out, in, taps)
            array = array.transpose(2, 1, 0)
        elif array.ndim == 2:  # Dense: Keras (in, out), torch (out, in)
            array = array.T
        parameters[name].copy_(torch.from_numpy(np.ascontiguousarray(array)))
        copied.add(name)
    assert copied == set(parameters), set(parameters) ^ copied


def _views(rng, batch=4, length=6):
    def view():
        return {
            m: rng.standard_normal((batch, length, d)).astype("float32")
            for m, d in TINY["modality_dims"].items()
        }

    view_a, view_b = view(), view()
    # Clip 0 of view b ends two frames early (all modalities zero): the
    # readout then reads it at frame T - 3, and H-bar at the later frame.
    for m in view_b:
        view_b[m][0, -2:] = 0.0
    # Clip 1 of view a lacks its audio: a missing modality is zeros.
    view_a["audio"][1] = 0.0
    y = rng.uniform(-3, 3, (batch, 1)).astype("float32")
    return view_a, view_b, y


def _torch_view(view):
    return {m: torch.from_numpy(x) for m, x in view.items()}


def test_with_keras_umdf_weights_the_peer_computes_its_outputs_and_loss(rng):
    model, peer = _pair(keras_model=True, dropout=0.0)
    copy_weights(model, peer)
    peer.eval()
    view_a, view_b, y = _views(rng)
    x = {"view_a": view_a, "view_b": view_b}
    expected = model(x, training=False)
    expected_loss = keras.ops.convert_to_numpy(
        model.compute_loss(x, y, expected, training=False)
    )
    with torch.no_grad():
        outputs = peer(_torch_view(view_a), _torch_view(view_b))
        loss = umdf_loss(outputs, torch.from_numpy(y), peer.config)
        prediction = peer.predict(_torch_view(view_b))
    for key in ("prediction", "h_a", "h_b", "logits_a", "logits_b"):
        np.testing.assert_allclose(
            outputs[key].numpy(),
            keras.ops.convert_to_numpy(expected[key]),
            rtol=1e-4,
            atol=1e-4,
            err_msg=key,
        )
    assert float(loss) == pytest.approx(float(expected_loss), rel=1e-4, abs=1e-5)
    np.testing.assert_allclose(
        prediction.numpy(),
        keras.ops.convert_to_numpy(model.predict_on_batch(view_b)),
        rtol=1e-4,
        atol=1e-4,
    )


def test_the_positional_embedding_is_the_sinusoid_of_the_paper():
    embedding = positional_embedding(5, 7).numpy()
    t, i = np.arange(5)[:, None], np.arange(7)[None, :]
    angles = t / 10000.0 ** ((i - i % 2) / 7)
    expected = np.where(i % 2 == 0, np.sin(angles), np.cos(angles))
    np.testing.assert_allclose(embedding, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.only_backend("torch")
def test_one_training_step_lowers_the_loss_and_stays_finite(rng):
    torch.manual_seed(0)
    _, peer = _pair(keras_model=False)
    optimizer = torch.optim.Adam(peer.parameters(), lr=1e-3, eps=1e-7)
    view_a, view_b, y = _views(rng)
    view_a, view_b, y = _torch_view(view_a), _torch_view(view_b), torch.from_numpy(y)
    peer.train()

    def loss_now():
        torch.manual_seed(1)  # The same dropout masks before and after.
        return umdf_loss(peer(view_a, view_b), y, peer.config)

    before = loss_now()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    gradients = [p.grad for p in peer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in gradients)
    assert all(torch.isfinite(p).all() for p in peer.parameters())
    with torch.no_grad():
        after = loss_now()
    assert torch.isfinite(after) and after.item() < before.item()
