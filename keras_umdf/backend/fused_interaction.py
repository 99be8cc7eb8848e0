"""MCIM's attentions batched into a few large products (`fused=True`).

`MultiGrainedCrossmodalInteraction` computes Eqs. 8-9 one attention at a time.
For modalities m_1..m_M of one length T (the paper's aligned data), this
module computes the same values from the same weights, passed in as tensors,
with each step one large product instead of M or M (M - 1) small ones:

1. Each modality Z_m is multiplied once by the concatenated kernels of every
   projection that reads it: the query of its own coarse attention, the keys
   and values of all M coarse attentions (their source holds every modality),
   and the keys and values of the 2 (M - 1) fine attentions whose source
   [Z_t, Z_o] holds it.
2. The M coarse attentions are one attention with M x H heads over the
   time-concatenation of all modalities; their output projections are one
   batched product; their layer norms one normalisation with stacked scales.
3. Likewise the M (M - 1) fine attentions (t, o), in the order t-major, with
   sources [Z_t, Z_o] of length 2T and queries from Z_t^c.
4. The FFNs and their layer norms of all targets as batched products.

`tests/layers/test_fused_paths.py` checks values and gradients against the
layer's one-at-a-time computation and the NumPy equations.
"""

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

import numpy as np
from keras import ops

from keras_umdf.backend.ops import grouped_matmul


class DenseWeights(NamedTuple):
    """A dense projection `x @ kernel + bias`; `bias` None when it has none."""

    kernel: Any
    bias: Any


class NormWeights(NamedTuple):
    """The scale and offset of a layer norm over the last axis."""

    gamma: Any
    beta: Any


class AttentionWeights(NamedTuple):
    """One `CrossmodalAttention`: its four projections and its layer norm."""

    query: DenseWeights
    key: DenseWeights
    value: DenseWeights
    output: DenseWeights
    layer_norm: NormWeights


class FeedForwardWeights(NamedTuple):
    """One target's FFN, `Dense(hidden, activation) -> Dense(d)`, and its norm."""

    intermediate: DenseWeights
    output: DenseWeights
    layer_norm: NormWeights


def fused_interaction(
    inputs: Sequence,
    masks: Sequence | None,
    *,
    coarse: Sequence[AttentionWeights],
    fine: Sequence[AttentionWeights],
    feed_forward: Sequence[FeedForwardWeights],
    num_heads: int,
    epsilon: float,
    activation: Callable,
    attend: Callable,
    ffn_dropout: Callable,
    training=None,
) -> list:
    """One MCIM layer (Eqs. 8-9, crossmodal) on aligned modalities, batched.

    Args:
        inputs: the M modalities `Z_m`, each `(batch, T, d)`, one T.
        masks: None, or M bool presence masks `(batch, T)`.
        coarse: the weights of the coarse attention of each target, in the
            order of `inputs`.
        fine: the weights of the fine attention (t, o) for every target t and
            other modality o, t-major, in the order of `inputs`.
        feed_forward: the FFN and its layer norm of each target.
        num_heads: heads of every attention; divides d.
        epsilon: the epsilon of every layer norm.
        activation: the FFN's hidden activation.
        attend: `attend(query, key, value, mask=...)`, the multi-head
            attention kernel with its dropout
            (`keras_umdf.layers.scaled_dot_product_attention`).
        ffn_dropout: the dropout of the FFN's output, called with `training`.
        training: whether dropout is active.

    Returns:
        The M outputs `Z_m^h`, `(batch, T, d)`, in the order of `inputs`.
    """
    x = list(inputs)
    num, length, width = len(x), x[0].shape[1], x[0].shape[-1]
    heads, head_dim = num_heads, width // num_heads
    pairs = [(t, o) for t in range(num) for o in range(num) if o != t]
    masked = masks is not None

    # 1. One projection per modality, split (not sliced: a split's gradient
    # is one concatenation) into the query of its coarse attention, the keys
    # and values of the M coarse attentions, those of the fine attentions
    # (m, o) (m's half of their source) and those of the fine attentions
    # (t, m) (the other half), in the order of `pairs`.
    parts = []
    for m, x_m in enumerate(x):
        own = [fine[i] for i, (t, _) in enumerate(pairs) if t == m]
        other = [i for i, (_, o) in enumerate(pairs) if o == m]
        groups = (
            [coarse[m].query],
            [a.key for a in coarse],
            [a.value for a in coarse],
            [a.key for a in own],
            [a.value for a in own],
            *([fine[i].key] for i in other),
            *([fine[i].value] for i in other),
        )
        projected = _dense_all(x_m, [dense for group in groups for dense in group])
        sizes = np.cumsum([len(group) * width for group in groups])[:-1]
        pieces = ops.split(projected, [int(i) for i in sizes], axis=-1)
        parts.append(
            {
                "query": pieces[0],
                "coarse_key": pieces[1],
                "coarse_value": pieces[2],
                "own_key": pieces[3],
                "own_value": pieces[4],
                "other_key": dict(zip(other, pieces[5 : 5 + num - 1], strict=True)),
                "other_value": dict(zip(other, pieces[5 + num - 1 :], strict=True)),
            }
        )

    # 2. Coarse: queries Z_t W_Q^t; keys/values over [Z_1, ..., Z_M] in time.
    query = ops.concatenate([p["query"] for p in parts], axis=-1)
    key = ops.concatenate([p["coarse_key"] for p in parts], axis=1)
    value = ops.concatenate([p["coarse_value"] for p in parts], axis=1)
    mask_all = ops.concatenate(list(masks), axis=1) if masked else None
    attended = attend(
        _heads(query, num * heads, head_dim),
        _heads(key, num * heads, head_dim),
        _heads(value, num * heads, head_dim),
        mask=mask_all,
    )
    update = _grouped_dense(_groups(attended, num, width), [a.output for a in coarse])
    if masked:
        update = update * _has_source(ops.any(mask_all, axis=-1), update.dtype)
    stacked = ops.stack(x, axis=2)  # (batch, T, M, d)
    coarse_out = _grouped_layer_norm(
        stacked + update, [a.layer_norm for a in coarse], epsilon
    )

    # 3. Fine: for pair (t, o), queries Z_t^c W_Q^{t,o}; keys/values over
    # [Z_t, Z_o] in time.
    query_groups = [
        [fine[i].query for i, (target, _) in enumerate(pairs) if target == t]
        for t in range(num)
    ]
    query = _grouped_dense_wide(coarse_out, query_groups)  # (b, T, M, (M-1)d)
    query = ops.reshape(query, (-1, length, len(pairs) * heads, head_dim))
    key = ops.concatenate(
        [
            ops.concatenate([p["own_key"] for p in parts], axis=-1),
            ops.concatenate(
                [parts[o]["other_key"][i] for i, (_, o) in enumerate(pairs)],
                axis=-1,
            ),
        ],
        axis=1,
    )
    value = ops.concatenate(
        [
            ops.concatenate([p["own_value"] for p in parts], axis=-1),
            ops.concatenate(
                [parts[o]["other_value"][i] for i, (_, o) in enumerate(pairs)],
                axis=-1,
            ),
        ],
        axis=1,
    )
    mask_pairs = None
    if masked:
        mask_pairs = ops.stack(
            [ops.concatenate([masks[t], masks[o]], axis=1) for t, o in pairs],
            axis=1,
        )  # (batch, pairs, 2T)
    attended = attend(
        query,
        _heads(key, len(pairs) * heads, head_dim),
        _heads(value, len(pairs) * heads, head_dim),
        mask=None if mask_pairs is None else ops.repeat(mask_pairs, heads, 1),
    )
    update = _grouped_dense(
        _groups(attended, len(pairs), width), [a.output for a in fine]
    )
    if masked:
        has_source = ops.cast(ops.any(mask_pairs, axis=-1), update.dtype)
        update = update * ops.expand_dims(ops.expand_dims(has_source, 1), -1)
    residual = ops.repeat(coarse_out, num - 1, axis=2)
    fine_out = _grouped_layer_norm(
        residual + update, [a.layer_norm for a in fine], epsilon
    )
    fine_out = ops.sum(ops.reshape(fine_out, (-1, length, num, num - 1, width)), axis=3)

    # 4. FFN per target.
    hidden = activation(
        _grouped_dense(fine_out, [f.intermediate for f in feed_forward])
    )
    update = _grouped_dense(hidden, [f.output for f in feed_forward])
    update = ffn_dropout(update, training=training)
    out = _grouped_layer_norm(
        fine_out + update, [f.layer_norm for f in feed_forward], epsilon
    )
    return [out[:, :, i, :] for i in range(num)]


def _dense_all(x, denses: Sequence[DenseWeights]):
    """`x` through several dense projections at once: (batch, T, sum of units)."""
    kernel = ops.concatenate([dense.kernel for dense in denses], axis=1)
    outputs = ops.matmul(x, kernel)
    if all(dense.bias is not None for dense in denses):
        outputs = outputs + ops.concatenate([dense.bias for dense in denses], axis=0)
    return outputs


def _heads(x, heads, head_dim):
    """(batch, T, heads * head_dim) -> (batch, T, heads, head_dim)."""
    return ops.reshape(x, (-1, x.shape[1], heads, head_dim))


def _groups(x, groups, width):
    """(batch, T, groups * heads, head_dim) -> (batch, T, groups, width)."""
    return ops.reshape(x, (-1, x.shape[1], groups, width))


def _grouped_dense(x, denses: Sequence[DenseWeights]):
    """Group g of `x` (batch, T, G, d) through projection g of `denses`."""
    kernel = ops.stack([dense.kernel for dense in denses], axis=0)
    outputs = grouped_matmul(x, kernel)
    if all(dense.bias is not None for dense in denses):
        outputs = outputs + ops.stack([dense.bias for dense in denses], axis=0)
    return outputs


def _grouped_dense_wide(x, groups: Sequence[Sequence[DenseWeights]]):
    """Group m of `x` (batch, T, M, d) through the query projections of the
    fine attentions of target m, concatenated: (batch, T, M, (M - 1) d)."""
    kernel = ops.stack(
        [ops.concatenate([q.kernel for q in group], axis=1) for group in groups],
        axis=0,
    )
    outputs = grouped_matmul(x, kernel)
    if any(q.bias is None for group in groups for q in group):
        return outputs
    bias = ops.stack(
        [ops.concatenate([q.bias for q in group], axis=0) for group in groups],
        axis=0,
    )
    return outputs + bias


def _grouped_layer_norm(x, norms: Sequence[NormWeights], epsilon: float):
    """Layer norm over the last axis of (batch, T, G, d), group g with the scale
    and offset of `norms[g]`, computed in float32 as
    `keras.layers.LayerNormalization` does, returned in the dtype of `x`."""
    dtype = x.dtype
    normalized = ops.layer_normalization(
        ops.cast(x, "float32"), axis=-1, epsilon=epsilon
    )
    gamma = ops.stack([ops.cast(norm.gamma, "float32") for norm in norms], axis=0)
    beta = ops.stack([ops.cast(norm.beta, "float32") for norm in norms], axis=0)
    return ops.cast(normalized * gamma + beta, dtype)


def _has_source(any_present, dtype):
    """(batch,) presence -> (batch, 1, 1, 1) factor that zeroes absent rows."""
    return ops.reshape(ops.cast(any_present, dtype), (-1, 1, 1, 1))
