"""The encoder UMDF and SDUMC share: one view of a clip -> the joint sequence H."""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.layers import FeatureNormalization
from keras_umdf.layers import ModalityProjection
from keras_umdf.layers import MultiGrainedCrossmodalInteraction
from keras_umdf.layers import PositionalEmbedding
from keras_umdf.layers import TransformerEncoder
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.models.arguments import check_bool
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import validate_modality_dims
from keras_umdf.models.readout import frame_presence
from keras_umdf.models.time_resampling import resample
from keras_umdf.models.time_resampling import resample_mask

MASK_MODES = ("zero_fill", "masked")
ATTENTIONS = ("crossmodal", "self")


@keras_umdf_export
class MultimodalBackbone(keras.layers.Layer):
    """Encodes one view of a clip into the joint representation H.

    The network both models share (UMDF Section 3.2, steps 1-3; SDUMC's
    encoder is the same stack):

    1. Per stream m: an optional `FeatureNormalization` (fitted with `adapt`),
       then `ModalityProjection` (Conv1D, kernel 3) to width `hidden_dim`.
    2. A sinusoidal `PositionalEmbedding`, then `num_layers`
       `MultiGrainedCrossmodalInteraction` (MCIM, Eqs. 8-9) layers over the
       modalities "text", "audio", "vision" of `modality_dims`.
    3. The modalities concatenated on the feature axis (each resampled to
       `joint_length` frames when their lengths differ) -> `encoder_layers`
       `TransformerEncoder` layers -> H, (batch, T, len(modalities) * d).

    A "pseudo_text" stream (SDUMC's) is projected but takes no part in the
    interaction: its task decides what to do with it. The tasks call the
    stages (`project`, `interact`, `join`) one by one where they put something
    between them (SDUMC's and `UMDFWithSDUMCParts`' imagination); `call` runs
    them in a row.

    Args:
        modality_dims: feature width of each stream, e.g.
            `{"text": 300, "audio": 74, "vision": 35}`; at least two of the
            modalities, plus an optional "pseudo_text".
        hidden_dim: common feature size d (paper: 40).
        num_heads: attention heads in MCIM (paper: 10 MOSI/IEMOCAP, 8 MOSEI).
        num_layers: number of stacked MCIM layers D (paper: 4).
        encoder_heads: heads of the joint encoder; default `num_heads`
            (design decision 7, docs/design-decisions.md).
        encoder_layers: depth of the joint encoder (assumed: 1).
        intermediate_dim: FFN width; default 4 x each layer's width.
        dropout: dropout in attention and FFNs (assumed: 0.1).
        attention: "crossmodal" (paper) or "self" (the Table 3 ablation).
        mask_mode: "zero_fill" (paper: attention runs over zero vectors) or
            "masked" (attention skips absent frames; design decision 5).
        joint_length: the length of H when the modalities' lengths differ
            (unaligned data; design decision 6). Default: the text's length.
        normalize_inputs: standardise each stream per dimension before its
            projection, with statistics fitted by `adapt` on the training
            split's present frames and saved with the weights (design
            decision 11).

    Input: a dict with one (batch, T_m, d_m) array per modality, optional
    "<stream>_mask" entries (batch, T_m), 1 where a frame is present, and the
    optional "pseudo_text". Output of `call`: H, (batch, T, joint_width).

    Example:

    ```python
    backbone = keras_umdf.models.MultimodalBackbone({"text": 300, "audio": 74})
    h = backbone({"text": x_l, "audio": x_a})  # (batch, T, 80)
    ```
    """

    def __init__(
        self,
        modality_dims: dict[str, int],
        hidden_dim: int = 40,
        num_heads: int = 10,
        num_layers: int = 4,
        encoder_heads: int | None = None,
        encoder_layers: int = 1,
        intermediate_dim: int | None = None,
        dropout: float = 0.1,
        attention: str = "crossmodal",
        mask_mode: str = "zero_fill",
        joint_length: int | None = None,
        normalize_inputs: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.modality_dims = validate_modality_dims(
            modality_dims,
            (*MODALITIES, PSEUDO_TEXT),
            "{'text': 300, 'audio': 74, 'vision': 35}",
        )
        self.modalities = tuple(m for m in MODALITIES if m in self.modality_dims)
        if len(self.modalities) < 2:
            raise ValueError(
                f"The model fuses at least two modalities of {list(MODALITIES)}; "
                f"received modality_dims={modality_dims!r}."
            )
        self.hidden_dim = check_int("hidden_dim", hidden_dim)
        self.num_heads = check_int("num_heads", num_heads)
        self.num_layers = check_int("num_layers", num_layers)
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}; "
                "choose hidden_dim as a multiple of num_heads (paper: 40 and 10)."
            )
        self.encoder_heads = check_int(
            "encoder_heads", num_heads if encoder_heads is None else encoder_heads
        )
        self.joint_width = self.hidden_dim * len(self.modalities)
        if self.joint_width % self.encoder_heads:
            raise ValueError(
                f"The joint width {self.joint_width} ({len(self.modalities)} "
                f"modalities x hidden_dim {hidden_dim}) is not divisible by "
                f"encoder_heads={self.encoder_heads}; pass encoder_heads that "
                "divides it."
            )
        self.encoder_layers = check_int("encoder_layers", encoder_layers)
        self.intermediate_dim = check_int(
            "intermediate_dim", intermediate_dim, none_means="4 x the layer's width"
        )
        if isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        self.dropout = dropout
        check_choice("attention", attention, ATTENTIONS)
        check_choice("mask_mode", mask_mode, MASK_MODES)
        self.attention = attention
        self.mask_mode = mask_mode
        self.joint_length = check_int(
            "joint_length", joint_length, none_means="the text's length"
        )
        self.normalize_inputs = check_bool("normalize_inputs", normalize_inputs)

        policy = self.dtype_policy
        self.normalizations = (
            {
                m: FeatureNormalization(dtype=policy, name=f"{m}_normalization")
                for m in self.modality_dims
            }
            if self.normalize_inputs
            else {}
        )
        self.projections = {
            m: ModalityProjection(hidden_dim, dtype=policy, name=f"{m}_projection")
            for m in self.modality_dims
        }
        self.positional_embedding = PositionalEmbedding(
            dtype=policy, name="positional_embedding"
        )
        self.mcim_layers = [
            MultiGrainedCrossmodalInteraction(
                num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                attention=attention,
                dtype=policy,
                name=f"mcim_{i}",
            )
            for i in range(num_layers)
        ]
        self.joint_encoder = [
            TransformerEncoder(
                self.encoder_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                dtype=policy,
                name=f"joint_encoder_{i}",
            )
            for i in range(self.encoder_layers)
        ]
        # Built by its task's `build` (or on its first call), after the task
        # has created its own layers: the random initial weights are then
        # drawn in the order they were before the backbone existed.

    def build(self, input_shape=None):
        if self.built:
            return
        for m, width in self.modality_dims.items():
            self.projections[m].build((None, None, width))
            if m in self.normalizations:
                self.normalizations[m].build((None, None, width))
        d = self.hidden_dim
        self.positional_embedding.build((None, None, d))
        for layer in self.mcim_layers:
            layer.build({m: (None, None, d) for m in self.modalities})
        for layer in self.joint_encoder:
            layer.build((None, None, self.joint_width))
        self.built = True

    def adapt(self, split) -> None:
        """Fits the input normalisation (`normalize_inputs=True`) on training data.

        Each stream's `FeatureNormalization` learns the per-dimension mean and
        standard deviation of its present frames: frames with a nonzero
        feature, within the split's `lengths` where it has them.

        Args:
            split: a `keras_umdf.data.Split` (e.g. `data["train"]`) or a dict
                of stream -> (N, T_m, d_m) arrays.

        Raises:
            ValueError: the backbone has no normalisation, or a modality is
                missing from `split` (checked before any statistics change).
                A stream whose every frame is zero keeps the identity, with a
                warning.
        """
        if not self.normalize_inputs:
            raise ValueError(
                "adapt() fits the input normalisation, which this model does not "
                "have (normalize_inputs=False); create the model with "
                "normalize_inputs=True."
            )
        features = getattr(split, "features", split)
        lengths = getattr(split, "lengths", None) or {}
        missing = [m for m in self.modalities if m not in features]
        if missing:
            raise ValueError(
                f"adapt() needs every modality of the model {list(self.modalities)};"
                f" received {sorted(features)} (missing {missing})."
            )
        for m in self.normalizations:
            if m not in features:
                continue
            if not np.any(features[m]):
                # A modality absent from the whole training split (e.g. a file
                # without vision features) has nothing to fit.
                warnings.warn(
                    f"adapt(): every {m} frame of the training data is zero; the "
                    f"{m} normalisation stays the identity.",
                    stacklevel=3,
                )
                continue
            self.normalizations[m].adapt(features[m], lengths=lengths.get(m))

    # ----------------------------------------------------------------- checks

    def check_view(self, view, where: str = "inputs", ignored=()) -> None:
        """Raises a ValueError naming the problem unless `view` fits the model.

        Args:
            view: the dict given to the model.
            where: how the message names it, e.g. "inputs['view_a']".
            ignored: keys accepted and ignored (UMDF's "pseudo_text").
        """
        streams = list(self.modality_dims)
        if not isinstance(view, dict):
            raise ValueError(
                f"{where} must be a dict keyed by stream {streams}; received "
                f"{type(view).__name__}."
            )
        missing = [m for m in self.modalities if m not in view]
        unknown = [
            k
            for k in view
            if k not in self.modality_dims
            and k not in ignored
            and not (k.endswith("_mask") and k[: -len("_mask")] in self.modality_dims)
        ]
        if missing or unknown:
            hint = (
                " This model has no pseudo text; build it with modality_dims "
                "including 'pseudo_text' to use one."
                if PSEUDO_TEXT in unknown
                else ""
            )
            raise ValueError(
                f"{where} has keys {sorted(view)}; the model was built for the "
                f"streams {streams} (plus optional '<stream>_mask'). Missing: "
                f"{missing}; unknown: {unknown}. Pass a zero array for an absent "
                f"modality.{hint}"
            )
        for m in self.modality_dims:
            if m not in view:
                continue
            shape = tuple(view[m].shape)
            if len(shape) != 3 or shape[-1] != self.modality_dims[m]:
                raise ValueError(
                    f"{where}: {m} features have shape {shape} but the model was "
                    f"built for (batch, time, {self.modality_dims[m]}); pass "
                    f"features of width {self.modality_dims[m]} or a model with "
                    f"modality_dims[{m!r}]={shape[-1] if shape else None}."
                )

    # ----------------------------------------------------------------- stages

    def presence(self, view) -> dict:
        """Bool (batch, T_m) per modality: frames with a nonzero feature that
        the view's "<modality>_mask" (where given) keeps."""
        return {
            m: frame_presence(view[m], view.get(f"{m}_mask")) for m in self.modalities
        }

    def project(self, view, presence=None) -> dict:
        """Normalises (when on) and projects every stream `view` holds -> P_m."""
        projected = {}
        for m in self.modality_dims:
            if m not in view:
                continue
            x = view[m]
            if m in self.normalizations:
                mask = None if presence is None else presence.get(m)
                x = self.normalizations[m](x, mask=mask)
            projected[m] = self.projections[m](x)
        return projected

    def attention_masks(self, presence):
        """The masks the attention takes: the presence with
        `mask_mode="masked"`, None (attend over every frame) otherwise."""
        return dict(presence) if self.mask_mode == "masked" else None

    def interact(self, projected, masks=None, training=None) -> dict:
        """Positional embedding and the MCIM stack over the modalities."""
        z = {m: self.positional_embedding(projected[m]) for m in self.modalities}
        for layer in self.mcim_layers:
            z = layer(z, masks=masks, training=training)
        return z

    def join(self, z, presence=None, masks=None, training=None):
        """H from the MCIM outputs, and the bool (batch, T) frames of H where
        any modality is present (None without `presence`)."""
        target = self.joint_length or z[self.modalities[0]].shape[1]
        parts, joint_mask, joint_presence = [], None, None
        for m in self.modalities:
            parts.append(resample(z[m], target))
            if presence is not None:
                present = resample_mask(presence[m], target)
                joint_presence = (
                    present
                    if joint_presence is None
                    else ops.logical_or(joint_presence, present)
                )
            if masks is not None:
                mask = resample_mask(masks[m], target)
                joint_mask = (
                    mask if joint_mask is None else ops.logical_or(joint_mask, mask)
                )
        h = ops.concatenate(parts, axis=-1)
        for layer in self.joint_encoder:
            h = layer(h, mask=joint_mask, training=training)
        return h, joint_presence

    def call(self, inputs, training=None):
        self.check_view(inputs)
        presence = self.presence(inputs)
        masks = self.attention_masks(presence)
        z = self.interact(self.project(inputs, presence), masks, training=training)
        return self.join(z, presence, masks, training=training)[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "modality_dims": dict(self.modality_dims),
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "num_layers": self.num_layers,
                "encoder_heads": self.encoder_heads,
                "encoder_layers": self.encoder_layers,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "attention": self.attention,
                "mask_mode": self.mask_mode,
                "joint_length": self.joint_length,
                "normalize_inputs": self.normalize_inputs,
            }
        )
        return config
