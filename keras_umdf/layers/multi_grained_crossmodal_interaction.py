"""Multi-grained Crossmodal Interaction Module, MCIM (Eqs. 8-9): one layer."""

import keras
import numpy as np
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.layers.crossmodal_attention import CrossmodalAttention
from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention
from keras_umdf.modalities import MODALITIES

ATTENTIONS = ("crossmodal", "self")


@keras_umdf_export
class MultiGrainedCrossmodalInteraction(keras.layers.Layer):
    """One MCIM layer: coarse- then fine-grained crossmodal attention per modality.

    For every target modality `t` (the paper's example is t = L with the others
    A and V), with `CA` a `CrossmodalAttention` (Eq. 7) and `[., .]` the
    concatenation over time:

        Z_t^c = LN(CA(Z_all, Z_t) + Z_t),  Z_all = [Z_L, Z_A, Z_V]      (Eq. 8)
        Z_t^f = sum over o != t of LN(CA([Z_t, Z_o], Z_t^c) + Z_t^c)    (Eq. 9)
        Z_t^h = LN(FFN(Z_t^f) + Z_t^f)

    The fine-grained sources hold the layer's input `Z_t`, not `Z_t^c` (the
    paper's `Z_LA = [Z_L, Z_A]`). Every `CA` has its own weights: for M modalities,
    M coarse and M (M - 1) fine attentions, plus one FFN and layer norm per
    modality. Sequences may have different lengths, since the sources are
    concatenated over time; they must share the width `d`. The paper stacks D = 4
    of these layers.

    Assumed (the paper names only "FFN"): `FFN = Dense(intermediate_dim, relu) ->
    Dense(d)` with `intermediate_dim = 4 d` as in the transformer, and every layer
    norm has epsilon 1e-5.

    With `attention="self"` (the Table 3 ablation "MCIM with self-attention") every
    crossmodal attention becomes self-attention on its own query, otherwise the
    same structure: `Z_t^c = LN(SA(Z_t) + Z_t)` and
    `Z_t^f = sum over o != t of LN(SA(Z_t^c) + Z_t^c)`, so no information crosses
    modalities.

    Modalities are processed in the order text, audio, vision, then any other
    names sorted; the names are fixed when the layer is built.

    Args:
        num_heads: attention heads of every `CA`; must divide `d`.
        intermediate_dim: FFN hidden width; defaults to `4 * d`.
        dropout: dropout rate on the attention probabilities and on the FFN output,
            in training only.
        attention: "crossmodal" (the paper) or "self" (ablation).
        fused: compute faster where the result is the same to float tolerance.
            When every modality has one length (the paper's aligned data) and
            `attention="crossmodal"`, the layer computes its attentions together
            rather than one by one: one matrix product per modality projects it
            for every attention that reads it, the M coarse attentions run as one
            multi-head attention with M x `num_heads` heads, the M (M - 1) fine
            ones as another, and the output projections, layer norms and FFNs
            of all targets run as batched products with the attentions' own
            weights stacked. The weights, and so the saved files, are the same
            either way. False (and any other case) computes each attention with
            its own `CrossmodalAttention` (the reference path).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict modality name -> `Z_m`, `(batch, T_m, d)`, two or more
            modalities.
        masks: optional dict modality name -> `(batch, T_m)` presence mask, bool
            or 0/1 float, True/1 where the frame is present; a modality left out
            counts as fully present. The masks are concatenated over time exactly
            like the sequences, and missing frames are not attended to. Where a
            source has no present frame in a row its attention output is 0
            (outputs stay finite, e.g. for a modality missing entirely in the
            ablation or every modality missing in the paper's one).
        training: whether dropout is active.

    Returns:
        dict with the same keys, `Z_m^h` of shape `(batch, T_m, d)`.

    Example:

    ```python
    mcim = keras_umdf.layers.MultiGrainedCrossmodalInteraction(num_heads=10)
    z = {
        "text": np.random.rand(4, 50, 40).astype("float32"),
        "audio": np.random.rand(4, 375, 40).astype("float32"),
        "vision": np.random.rand(4, 500, 40).astype("float32"),
    }
    z = mcim(z)  # same keys and shapes
    ```
    """

    def __init__(
        self,
        num_heads: int,
        intermediate_dim: int | None = None,
        dropout: float = 0.0,
        attention: str = "crossmodal",
        fused: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        num_heads = check_int("num_heads", num_heads)
        intermediate_dim = check_int(
            "intermediate_dim", intermediate_dim, none_means="4 x the modality width"
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        if attention not in ATTENTIONS:
            raise ValueError(
                f"attention must be one of {ATTENTIONS}; received {attention!r}. Use "
                "'crossmodal' for the paper's MCIM, 'self' for the Table 3 ablation."
            )
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.attention = attention
        self.fused = bool(fused)

    def build(self, input_shape):
        shapes = _check_shapes(input_shape)
        self.modalities = _ordered(shapes)
        width = next(iter(shapes.values()))[-1]
        if width % self.num_heads:
            raise ValueError(
                f"MultiGrainedCrossmodalInteraction: the modality width {width} is "
                f"not divisible by num_heads={self.num_heads}; choose a number of "
                "heads that divides it."
            )
        self._width = width
        hidden = self.intermediate_dim or 4 * width
        crossmodal = self.attention == "crossmodal"

        def attention(name):
            return CrossmodalAttention(
                self.num_heads,
                dropout=self.dropout,
                dtype=self.dtype_policy,
                name=name,
            )

        def length(*names):
            lengths = [shapes[m][1] for m in names]
            return None if None in lengths else sum(lengths)

        all_length = length(*self.modalities)
        self.coarse_attention = {}
        self.fine_attention = {}
        self.ffn_intermediate = {}
        self.ffn_output = {}
        self.ffn_layer_norm = {}
        for t in self.modalities:
            target_shape = shapes[t]
            coarse = attention(f"coarse_{t}")
            coarse_source = (None, all_length, width) if crossmodal else target_shape
            coarse.build(target_shape, coarse_source)
            self.coarse_attention[t] = coarse
            for o in self.modalities:
                if o == t:
                    continue
                fine = attention(f"fine_{t}_{o}")
                fine_source = (
                    (None, length(t, o), width) if crossmodal else target_shape
                )
                fine.build(target_shape, fine_source)
                self.fine_attention[(t, o)] = fine
            intermediate = keras.layers.Dense(
                hidden, activation="relu", dtype=self.dtype_policy, name=f"ffn_{t}_1"
            )
            intermediate.build(target_shape)
            self.ffn_intermediate[t] = intermediate
            output = keras.layers.Dense(
                width, dtype=self.dtype_policy, name=f"ffn_{t}_2"
            )
            output.build(target_shape[:-1] + (hidden,))
            self.ffn_output[t] = output
            norm = keras.layers.LayerNormalization(
                epsilon=1e-5, dtype=self.dtype_policy, name=f"ffn_layer_norm_{t}"
            )
            norm.build(target_shape)
            self.ffn_layer_norm[t] = norm
        self.ffn_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="ffn_dropout"
        )

    def call(self, inputs, masks=None, training=None):
        z, masks = self._check_call(inputs, masks)
        if self._can_fuse(z):
            return _FusedInteraction(self)(z, masks, training)
        order = self.modalities
        crossmodal = self.attention == "crossmodal"
        if crossmodal:
            z_all = ops.concatenate([z[m] for m in order], axis=1)
            mask_all = _concatenate_masks([masks[m] for m in order])
            # Attention does not depend on the order of its keys, so the fine
            # source [Z_t, Z_o] also serves as [Z_o, Z_t]: one per pair.
            pairs = {}
            for i, t in enumerate(order):
                for o in order[i + 1 :]:
                    pairs[(t, o)] = pairs[(o, t)] = (
                        ops.concatenate([z[t], z[o]], axis=1),
                        _concatenate_masks([masks[t], masks[o]]),
                    )
        outputs = {}
        for t in order:
            if crossmodal:
                coarse = self.coarse_attention[t](
                    z[t], z_all, source_mask=mask_all, training=training
                )
            else:
                coarse = self.coarse_attention[t](
                    z[t], z[t], source_mask=masks[t], training=training
                )
            fine = None
            for o in order:
                if o == t:
                    continue
                source, source_mask = (
                    pairs[(t, o)] if crossmodal else (coarse, masks[t])
                )
                part = self.fine_attention[(t, o)](
                    coarse, source, source_mask=source_mask, training=training
                )
                fine = part if fine is None else fine + part
            update = self.ffn_output[t](self.ffn_intermediate[t](fine))
            update = self.ffn_dropout(update, training=training)
            outputs[t] = self.ffn_layer_norm[t](fine + update)
        return outputs

    def _can_fuse(self, z) -> bool:
        """Whether the stacked computation applies: aligned crossmodal MCIM."""
        if not self.fused or self.attention != "crossmodal":
            return False
        lengths = {z[m].shape[1] for m in self.modalities}
        return len(lengths) == 1 and None not in lengths

    def _check_call(self, inputs, masks):
        """Validates the inputs against the build; returns them and bool masks."""
        shapes = _check_shapes(
            {m: tuple(x.shape) for m, x in inputs.items()}
            if isinstance(inputs, dict)
            else inputs
        )
        if set(shapes) != set(self.modalities):
            raise ValueError(
                f"MultiGrainedCrossmodalInteraction '{self.name}' was built for the "
                f"modalities {list(self.modalities)}; received {sorted(shapes)}. Pass "
                "every modality (zeros for a missing one) or build a new layer."
            )
        if next(iter(shapes.values()))[-1] != self._width:
            raise ValueError(
                f"MultiGrainedCrossmodalInteraction '{self.name}' was built for "
                f"width {self._width}; received shapes {shapes}."
            )
        if masks is None:
            return inputs, {m: None for m in self.modalities}
        if not isinstance(masks, dict):
            raise ValueError(
                "masks must be a dict modality name -> (batch, T_m) presence mask; "
                f"received {type(masks).__name__}."
            )
        unknown = sorted(set(masks) - set(self.modalities))
        if unknown:
            raise ValueError(
                f"masks has keys {unknown} that are not modalities of this layer "
                f"({list(self.modalities)})."
            )
        bool_masks = {}
        for m in self.modalities:
            mask = masks.get(m)
            if mask is None:
                bool_masks[m] = ops.ones(ops.shape(inputs[m])[:2], "bool")
                continue
            mask_shape = tuple(mask.shape)
            expected = shapes[m][:2]
            if len(mask_shape) != 2 or any(
                a is not None and b is not None and a != b
                for a, b in zip(mask_shape, expected, strict=True)
            ):
                raise ValueError(
                    f"The {m} mask must have shape (batch, T_{m}) = {expected} to "
                    f"match the {m} features {shapes[m]}; received {mask_shape}."
                )
            bool_masks[m] = ops.cast(mask, "bool")
        if all(masks.get(m) is None for m in self.modalities):
            bool_masks = {m: None for m in self.modalities}
        return inputs, bool_masks

    def compute_output_shape(self, input_shape):
        return {m: tuple(shape) for m, shape in input_shape.items()}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "attention": self.attention,
                "fused": self.fused,
            }
        )
        return config


def _ordered(names) -> tuple[str, ...]:
    """The paper's order text, audio, vision, then any other names sorted."""
    known = [m for m in MODALITIES if m in names]
    return tuple(known + sorted(m for m in names if m not in MODALITIES))


def _check_shapes(input_shape) -> dict:
    """Checks a dict of >= 2 (batch, time, d) shapes with one d; returns it."""
    if not isinstance(input_shape, dict) or len(input_shape) < 2:
        received = (
            f"a dict with keys {sorted(input_shape)}"
            if isinstance(input_shape, dict)
            else f"a {type(input_shape).__name__}"
        )
        raise ValueError(
            "MultiGrainedCrossmodalInteraction expects a dict of at least two "
            "modalities, name -> (batch, time, d), e.g. {'text': ..., 'audio': "
            f"..., 'vision': ...}}; received {received}."
        )
    shapes = {m: tuple(shape) for m, shape in input_shape.items()}
    if any(len(shape) != 3 for shape in shapes.values()):
        raise ValueError(
            "MultiGrainedCrossmodalInteraction expects every modality as (batch, "
            f"time, d); received shapes {shapes}."
        )
    widths = {shape[-1] for shape in shapes.values()}
    if len(widths) != 1 or None in widths:
        raise ValueError(
            "MultiGrainedCrossmodalInteraction needs every modality at one known "
            f"width d; received shapes {shapes}. Project each modality to d first "
            "(ModalityProjection)."
        )
    return shapes


def _concatenate_masks(masks):
    """Concatenates presence masks over time, or None when there are none."""
    if all(mask is None for mask in masks):
        return None
    return ops.concatenate(masks, axis=1)


class _FusedInteraction:
    """The MCIM layer's computation with its attentions batched (`fused=True`).

    For modalities m_1..m_M of one length T. Every attention keeps its own
    weights; they are only stacked, per call, so that each step is one large
    product instead of M or M (M - 1) small ones:

    1. Each modality Z_m is multiplied once by the concatenated kernels of every
       projection that reads it: the query of its own coarse attention, the keys
       and values of all M coarse attentions (their source holds every
       modality), and the keys and values of the 2 (M - 1) fine attentions whose
       source [Z_t, Z_o] holds it.
    2. The M coarse attentions are one attention with M x H heads over the
       time-concatenation of all modalities; their output projections are one
       batched product; their layer norms one normalisation with stacked scales.
    3. Likewise the M (M - 1) fine attentions (t, o), in the order t-major, with
       sources [Z_t, Z_o] of length 2T and queries from Z_t^c.
    4. The FFNs and their layer norms of all targets as batched products.
    """

    def __init__(self, layer: MultiGrainedCrossmodalInteraction):
        self.layer = layer
        self.order = layer.modalities
        self.pairs = [(t, o) for t in self.order for o in self.order if o != t]

    def __call__(self, z, masks, training):
        layer, order, pairs = self.layer, self.order, self.pairs
        num, width = len(order), layer._width
        heads, head_dim = layer.num_heads, layer._width // layer.num_heads
        coarse = [layer.coarse_attention[t] for t in order]
        fine = [layer.fine_attention[pair] for pair in pairs]
        x = [z[m] for m in order]
        length = x[0].shape[1]
        masked = masks[order[0]] is not None
        dropout = coarse[0].attention_dropout

        # 1. One projection per modality, split (not sliced: a split's gradient
        # is one concatenation) into the query of its coarse attention, the
        # keys and values of the M coarse attentions, those of the fine
        # attentions (m, o) (m's half of their source) and those of the fine
        # attentions (t, m) (the other half), in the order of `pairs`.
        parts = {}
        for m, x_m in zip(order, x, strict=True):
            own = [fine[i] for i, (t, _) in enumerate(pairs) if t == m]
            other = [fine[i] for i, (_, o) in enumerate(pairs) if o == m]
            groups = (
                [coarse[order.index(m)].query_dense],
                [a.key_dense for a in coarse],
                [a.value_dense for a in coarse],
                [a.key_dense for a in own],
                [a.value_dense for a in own],
                *([a.key_dense] for a in other),
                *([a.value_dense] for a in other),
            )
            projected = _dense_all(x_m, [dense for group in groups for dense in group])
            sizes = np.cumsum([len(group) * width for group in groups])[:-1]
            pieces = ops.split(projected, [int(i) for i in sizes], axis=-1)
            parts[m] = {
                "query": pieces[0],
                "coarse_key": pieces[1],
                "coarse_value": pieces[2],
                "own_key": pieces[3],
                "own_value": pieces[4],
                "other_key": dict(zip(other, pieces[5 : 5 + num - 1], strict=True)),
                "other_value": dict(zip(other, pieces[5 + num - 1 :], strict=True)),
            }

        # 2. Coarse: queries Z_t W_Q^t; keys/values over [Z_1, ..., Z_M] in time.
        query = ops.concatenate([parts[m]["query"] for m in order], axis=-1)
        key = ops.concatenate([parts[m]["coarse_key"] for m in order], axis=1)
        value = ops.concatenate([parts[m]["coarse_value"] for m in order], axis=1)
        mask_all = (
            ops.concatenate([masks[m] for m in order], axis=1) if masked else None
        )
        attended = scaled_dot_product_attention(
            _heads(query, num * heads, head_dim),
            _heads(key, num * heads, head_dim),
            _heads(value, num * heads, head_dim),
            mask=mask_all,
            dropout=dropout,
            training=training,
            fused=layer.fused,
        )
        update = _grouped_dense(_groups(attended, num, width), coarse)
        if masked:
            update = update * _has_source(ops.any(mask_all, axis=-1), update.dtype)
        stacked = ops.stack(x, axis=2)  # (batch, T, M, d)
        coarse_out = _grouped_layer_norm(
            stacked + update, [a.layer_norm for a in coarse]
        )

        # 3. Fine: for pair (t, o), queries Z_t^c W_Q^{t,o}; keys/values over
        # [Z_t, Z_o] in time.
        query_groups = [
            [fine[i] for i, (target, _) in enumerate(pairs) if target == t]
            for t in order
        ]
        query = _grouped_dense_wide(coarse_out, query_groups)  # (b, T, M, (M-1)d)
        query = ops.reshape(query, (-1, length, len(pairs) * heads, head_dim))
        attentions = dict(zip(pairs, fine, strict=True))
        key = ops.concatenate(
            [
                ops.concatenate([parts[m]["own_key"] for m in order], axis=-1),
                ops.concatenate(
                    [parts[o]["other_key"][attentions[t, o]] for t, o in pairs],
                    axis=-1,
                ),
            ],
            axis=1,
        )
        value = ops.concatenate(
            [
                ops.concatenate([parts[m]["own_value"] for m in order], axis=-1),
                ops.concatenate(
                    [parts[o]["other_value"][attentions[t, o]] for t, o in pairs],
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
        attended = scaled_dot_product_attention(
            query,
            _heads(key, len(pairs) * heads, head_dim),
            _heads(value, len(pairs) * heads, head_dim),
            mask=None if mask_pairs is None else ops.repeat(mask_pairs, heads, 1),
            dropout=dropout,
            training=training,
            fused=layer.fused,
        )
        update = _grouped_dense(_groups(attended, len(pairs), width), fine)
        if masked:
            has_source = ops.cast(ops.any(mask_pairs, axis=-1), update.dtype)
            update = update * ops.expand_dims(ops.expand_dims(has_source, 1), -1)
        residual = ops.repeat(coarse_out, num - 1, axis=2)
        fine_out = _grouped_layer_norm(residual + update, [a.layer_norm for a in fine])
        fine_out = ops.sum(
            ops.reshape(fine_out, (-1, length, num, num - 1, width)), axis=3
        )

        # 4. FFN per target.
        intermediate = [layer.ffn_intermediate[t] for t in order]
        hidden = _grouped_dense(fine_out, intermediate)
        hidden = intermediate[0].activation(hidden)
        update = _grouped_dense(hidden, [layer.ffn_output[t] for t in order])
        update = layer.ffn_dropout(update, training=training)
        out = _grouped_layer_norm(
            fine_out + update, [layer.ffn_layer_norm[t] for t in order]
        )
        return {m: out[:, :, i, :] for i, m in enumerate(order)}


def _dense_all(x, denses):
    """`x` through several Dense layers at once: (batch, T, sum of units)."""
    kernel = ops.concatenate([dense.kernel.value for dense in denses], axis=1)
    outputs = ops.matmul(x, kernel)
    if all(dense.bias is not None for dense in denses):
        outputs = outputs + ops.concatenate(
            [dense.bias.value for dense in denses], axis=0
        )
    return outputs


def _heads(x, heads, head_dim):
    """(batch, T, heads * head_dim) -> (batch, T, heads, head_dim)."""
    return ops.reshape(x, (-1, x.shape[1], heads, head_dim))


def _groups(x, groups, width):
    """(batch, T, groups * heads, head_dim) -> (batch, T, groups, width)."""
    return ops.reshape(x, (-1, x.shape[1], groups, width))


def _grouped_dense(x, layers):
    """Group g of `x` (batch, T, G, d) through the output projection of layer g.

    `layers` are G `CrossmodalAttention`s (their `output_dense`) or G Dense
    layers.
    """
    denses = [getattr(a, "output_dense", a) for a in layers]
    kernel = ops.stack([dense.kernel.value for dense in denses], axis=0)
    outputs = _grouped_matmul(x, kernel)
    if all(dense.bias is not None for dense in denses):
        outputs = outputs + ops.stack([dense.bias.value for dense in denses], axis=0)
    return outputs


def _grouped_dense_wide(x, groups):
    """Group m of `x` (batch, T, M, d) through the query projections of the
    fine attentions of target m, concatenated: (batch, T, M, (M - 1) d)."""
    kernel = ops.stack(
        [
            ops.concatenate([a.query_dense.kernel.value for a in group], axis=1)
            for group in groups
        ],
        axis=0,
    )
    outputs = _grouped_matmul(x, kernel)
    if any(a.query_dense.bias is None for group in groups for a in group):
        return outputs
    bias = ops.stack(
        [
            ops.concatenate([a.query_dense.bias.value for a in group], axis=0)
            for group in groups
        ],
        axis=0,
    )
    return outputs + bias


def _grouped_matmul(x, kernel):
    """`einsum("btgi,gio->btgo", x, kernel)`: x (batch, T, G, i), kernel (G, i, o).

    On TensorFlow, as one batched matmul over the groups between two transposes
    of the small activations: the same products as TensorFlow's `Einsum`
    kernel, which took 8% of a training step's op time at the paper's
    configuration (batch 128, oneDNN on; `benchmarks/profile_step.py`) and,
    with its gradients, ran about 40% slower than this at the paper's shapes.
    JAX and PyTorch compile or dispatch the einsum to the same products
    themselves.
    """
    if keras.backend.backend() != "tensorflow":
        return ops.einsum("btgi,gio->btgo", x, kernel)
    length, groups, width = x.shape[1], x.shape[2], x.shape[3]
    grouped = ops.transpose(ops.reshape(x, (-1, groups, width)), (1, 0, 2))
    outputs = ops.transpose(ops.matmul(grouped, kernel), (1, 0, 2))
    return ops.reshape(outputs, (-1, length, groups, kernel.shape[-1]))


def _grouped_layer_norm(x, norms):
    """Layer norm over the last axis of (batch, T, G, d), group g with the scale
    and offset of `norms[g]`, computed in float32 as
    `keras.layers.LayerNormalization` does, returned in the dtype of `x`."""
    dtype = x.dtype
    normalized = ops.layer_normalization(
        ops.cast(x, "float32"), axis=-1, epsilon=norms[0].epsilon
    )
    gamma = ops.stack([ops.cast(norm.gamma.value, "float32") for norm in norms], axis=0)
    beta = ops.stack([ops.cast(norm.beta.value, "float32") for norm in norms], axis=0)
    return ops.cast(normalized * gamma + beta, dtype)


def _has_source(any_present, dtype):
    """(batch,) presence -> (batch, 1, 1, 1) factor that zeroes absent rows."""
    return ops.reshape(ops.cast(any_present, dtype), (-1, 1, 1, 1))
