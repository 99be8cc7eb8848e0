"""Multi-grained Crossmodal Interaction Module, MCIM (Eqs. 8-9): one layer."""

import functools

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.backend.fused_interaction import AttentionWeights
from keras_umdf.backend.fused_interaction import DenseWeights
from keras_umdf.backend.fused_interaction import FeedForwardWeights
from keras_umdf.backend.fused_interaction import NormWeights
from keras_umdf.backend.fused_interaction import fused_interaction
from keras_umdf.layers.crossmodal_attention import CrossmodalAttention
from keras_umdf.layers.scaled_dot_product_attention import scaled_dot_product_attention
from keras_umdf.modalities import MODALITIES

ATTENTIONS = ("crossmodal", "self")
# The epsilon of every layer norm (assumed; the paper gives none).
EPSILON = 1e-5


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
            `attention="crossmodal"`, the attentions are computed together, as
            a few batched products of this layer's weights
            (`keras_umdf.backend.fused_interaction`). The weights, and so the
            saved files, are the same either way. False (and any other case)
            computes each attention with its own `CrossmodalAttention`, as
            below (the reference path).
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
                epsilon=EPSILON,
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
                epsilon=EPSILON, dtype=self.dtype_policy, name=f"ffn_layer_norm_{t}"
            )
            norm.build(target_shape)
            self.ffn_layer_norm[t] = norm
        self.ffn_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="ffn_dropout"
        )

    def call(self, inputs, masks=None, training=None):
        z, masks = self._check_call(inputs, masks)
        if self._can_fuse(z):
            return self._call_fused(z, masks, training)
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

    def _call_fused(self, z, masks, training):
        """The same values, the attentions batched (`keras_umdf.backend.
        fused_interaction`), from this layer's weights."""
        order = self.modalities
        pairs = [(t, o) for t in order for o in order if o != t]
        dropout = self.coarse_attention[order[0]].attention_dropout
        outputs = fused_interaction(
            [z[m] for m in order],
            None if masks[order[0]] is None else [masks[m] for m in order],
            coarse=[_attention_weights(self.coarse_attention[t]) for t in order],
            fine=[_attention_weights(self.fine_attention[pair]) for pair in pairs],
            feed_forward=[
                FeedForwardWeights(
                    _dense_weights(self.ffn_intermediate[t]),
                    _dense_weights(self.ffn_output[t]),
                    _norm_weights(self.ffn_layer_norm[t]),
                )
                for t in order
            ],
            num_heads=self.num_heads,
            epsilon=EPSILON,
            activation=self.ffn_intermediate[order[0]].activation,
            attend=functools.partial(
                scaled_dot_product_attention,
                dropout=dropout,
                training=training,
                fused=True,
            ),
            ffn_dropout=self.ffn_dropout,
            training=training,
        )
        return dict(zip(order, outputs, strict=True))

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


def _dense_weights(dense) -> DenseWeights:
    """The kernel and bias (None without one) of a `keras.layers.Dense`."""
    return DenseWeights(
        dense.kernel.value, None if dense.bias is None else dense.bias.value
    )


def _norm_weights(norm) -> NormWeights:
    """The scale and offset of a `keras.layers.LayerNormalization`."""
    return NormWeights(norm.gamma.value, norm.beta.value)


def _attention_weights(attention: CrossmodalAttention) -> AttentionWeights:
    """The projections and layer norm of a `CrossmodalAttention`."""
    return AttentionWeights(
        _dense_weights(attention.query_dense),
        _dense_weights(attention.key_dense),
        _dense_weights(attention.value_dense),
        _dense_weights(attention.output_dense),
        _norm_weights(attention.layer_norm),
    )
