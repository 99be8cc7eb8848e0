"""NumPy references of the paper's equations, in float64, for the layer tests.

Written from the paper (Eqs. 7-11 and Vaswani et al.'s positional embedding), not
from the layers: they only read the layers' weights.
"""

import keras
import numpy as np

EPSILON = 1e-5

# Keras and torch tensors' __array__ predate NumPy 2's `copy` keyword; NumPy warns on
# every conversion. Harmless here, so each layer test module ignores it.
NUMPY_COPY_WARNING = (
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def to_numpy(x):
    """A backend tensor (or array) as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(x))


def value(variable):
    """A Keras variable (or None) as a float64 NumPy array (or 0.0)."""
    if variable is None:
        return 0.0
    return np.asarray(keras.ops.convert_to_numpy(variable.value), dtype="float64")


def randomize_weights(layer, seed=0, scale=0.5):
    """Gives every weight (biases and layer-norm parameters too) random values."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        variable.assign(rng.normal(0.0, scale, variable.shape).astype("float32"))


def layer_norm(x, norm_layer):
    """LN over the last axis with the layer's gamma and beta."""
    mean = x.mean(-1, keepdims=True)
    variance = x.var(-1, keepdims=True)
    normalized = (x - mean) / np.sqrt(variance + EPSILON)
    return normalized * value(norm_layer.gamma) + value(norm_layer.beta)


def crossmodal_attention(layer, target, source, source_mask=None):
    """`LN(X_t + CA(X_s, X_t))` (Eq. 7) with the weights of a CrossmodalAttention.

    CA = concat_h(softmax(X_t W_Q^h (X_s W_K^h)^T / sqrt(d_k)) X_s W_V^h) W_O;
    masked source frames get no weight, and a row without any present source
    frame gets CA = 0.
    """
    target = np.asarray(target, "float64")
    source = np.asarray(source, "float64")
    w_q, b_q = value(layer.query_dense.kernel), value(layer.query_dense.bias)
    w_k, b_k = value(layer.key_dense.kernel), value(layer.key_dense.bias)
    w_v, b_v = value(layer.value_dense.kernel), value(layer.value_dense.bias)
    w_o, b_o = value(layer.output_dense.kernel), value(layer.output_dense.bias)
    batch, num_heads = target.shape[0], layer.num_heads
    key_dim = w_q.shape[1] // num_heads
    # Head h owns columns h * key_dim ... (h + 1) * key_dim - 1 of W_Q, W_K, W_V.
    columns = [slice(h * key_dim, (h + 1) * key_dim) for h in range(num_heads)]
    present = (
        np.ones(source.shape[:2], bool)
        if source_mask is None
        else np.asarray(source_mask).astype(bool)
    )
    update = np.zeros(target.shape)
    for b in range(batch):
        if not present[b].any():
            continue  # No source frame: CA = 0.
        heads = []
        for h in range(num_heads):
            c = columns[h]
            q = target[b] @ w_q[:, c] + (b_q[c] if np.ndim(b_q) else 0.0)
            k = source[b] @ w_k[:, c] + (b_k[c] if np.ndim(b_k) else 0.0)
            v = source[b] @ w_v[:, c] + (b_v[c] if np.ndim(b_v) else 0.0)
            scores = q @ k.T / np.sqrt(key_dim)
            scores = scores[:, present[b]]
            probabilities = softmax(scores, axis=-1)
            heads.append(probabilities @ v[present[b]])
        concatenated = np.concatenate(heads, axis=-1)  # (T_t, heads * key_dim)
        update[b] = concatenated @ w_o + b_o
    return layer_norm(target + update, layer.layer_norm)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def dense(x, layer, activation=None):
    y = x @ value(layer.kernel) + value(layer.bias)
    return np.maximum(y, 0.0) if activation == "relu" else y


def transformer_encoder(layer, x, mask=None):
    """Post-LN encoder: x = LN(x + SA(x)); LN(x + FFN(x))."""
    x = crossmodal_attention(layer.self_attention, x, x, mask)
    update = dense(dense(x, layer.intermediate_dense, "relu"), layer.output_dense)
    return layer_norm(x + update, layer.output_layer_norm)


def mcim(layer, z, masks=None):
    """Eqs. 8-9 and the FFN, for every target modality; `attention` as the layer's."""
    z = {m: np.asarray(x, "float64") for m, x in z.items()}
    masks = {
        m: np.ones(x.shape[:2], bool)
        if masks is None or m not in masks
        else np.asarray(masks[m]).astype(bool)
        for m, x in z.items()
    }
    names = list(z)
    out = {}
    for t in names:
        others = [o for o in names if o != t]
        if layer.attention == "crossmodal":
            z_all = np.concatenate([z[m] for m in names], axis=1)
            mask_all = np.concatenate([masks[m] for m in names], axis=1)
            coarse = crossmodal_attention(
                layer.coarse_attention[t], z[t], z_all, mask_all
            )
            fine = sum(
                crossmodal_attention(
                    layer.fine_attention[(t, o)],
                    coarse,
                    np.concatenate([z[t], z[o]], axis=1),
                    np.concatenate([masks[t], masks[o]], axis=1),
                )
                for o in others
            )
        else:
            coarse = crossmodal_attention(
                layer.coarse_attention[t], z[t], z[t], masks[t]
            )
            fine = sum(
                crossmodal_attention(
                    layer.fine_attention[(t, o)], coarse, coarse, masks[t]
                )
                for o in others
            )
        hidden = dense(fine, layer.ffn_intermediate[t], "relu")
        update = dense(hidden, layer.ffn_output[t])
        out[t] = layer_norm(fine + update, layer.ffn_layer_norm[t])
    return out


def conv1d_same(x, kernel, bias=0.0):
    """Convolution over time, "same" padding; kernel (taps, in, out), odd taps."""
    taps = kernel.shape[0]
    pad = taps // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (0, 0)))
    steps = x.shape[1]
    return sum(padded[:, j : j + steps] @ kernel[j] for j in range(taps)) + bias


def positional_embedding(length, width, max_wavelength=10000.0):
    """PE[t, 2i] = sin(t / w^(2i/d)), PE[t, 2i+1] = cos(t / w^(2i/d))."""
    pe = np.zeros((length, width))
    for t in range(length):
        for j in range(width):
            i = j // 2
            angle = t / max_wavelength ** (2 * i / width)
            pe[t, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return pe


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))
