"""UMDF's prediction path: DFIM over the two views, an encoder, the head."""

from __future__ import annotations

import keras

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.layers import DynamicFeatureIntegration
from keras_umdf.layers import TransformerEncoder
from keras_umdf.models.readout import gather_frames


@keras_umdf_export
class FusionHead(keras.layers.Layer):
    """Fuses the two views' joint sequences and predicts from one frame.

    UMDF Section 3.4: DFIM (Eqs. 10-11; `DynamicFeatureIntegration`) fuses
    H_a and H_b into H_e -> `encoder_layers` `TransformerEncoder` layers ->
    H-bar; its frame `index` of each clip -> Dense(ReLU) -> dropout ->
    Dense(`units`) gives the prediction (float32).

    Args:
        units: outputs of the last Dense layer (1 for regression).
        joint_width: the width of H_a and H_b.
        encoder_heads: heads of the encoder.
        encoder_layers: depth of the encoder.
        intermediate_dim: FFN width; default 4 x `joint_width`.
        dropout: dropout in the encoder and before the last layer.
        fusion: "dynamic" (DFIM) or "concat" (the Table 3 ablation).

    Call arguments: `h_a`, `h_b` (batch, T, joint_width); `index` (batch,)
    int frame of H-bar to read; `training`.
    """

    def __init__(
        self,
        units: int,
        joint_width: int,
        encoder_heads: int,
        encoder_layers: int = 1,
        intermediate_dim: int | None = None,
        dropout: float = 0.1,
        fusion: str = "dynamic",
        **kwargs,
    ):
        super().__init__(**kwargs)
        # H_a and H_b may carry the joint encoder's frame mask; the head reads
        # one frame per clip, so its output has none.
        self.supports_masking = True
        self.units = units
        self.joint_width = joint_width
        self.encoder_heads = encoder_heads
        self.encoder_layers = encoder_layers
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.fusion = fusion
        policy = self.dtype_policy
        self.integration = DynamicFeatureIntegration(
            fusion=fusion, dtype=policy, name="dfim"
        )
        self.encoder = [
            TransformerEncoder(
                encoder_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                dtype=policy,
                name=f"final_encoder_{i}",
            )
            for i in range(encoder_layers)
        ]
        self.hidden = keras.layers.Dense(
            joint_width, activation="relu", dtype=policy, name="head_hidden"
        )
        self.hidden_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.output_layer = keras.layers.Dense(
            units, dtype="float32", name="head_output"
        )

    def build(self, input_shape=None):
        if self.built:
            return
        joint_shape = (None, None, self.joint_width)
        for layer in self.encoder:
            layer.build(joint_shape)
        self.integration.build([joint_shape, joint_shape])
        self.hidden.build((None, self.joint_width))
        self.output_layer.build((None, self.joint_width))
        self.built = True

    def call(self, h_a, h_b, index, training=None):
        h = self.integration([h_a, h_b])
        for layer in self.encoder:
            h = layer(h, training=training)
        hidden = self.hidden(gather_frames(h, index))
        return self.output_layer(self.hidden_dropout(hidden, training=training))

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "joint_width": self.joint_width,
                "encoder_heads": self.encoder_heads,
                "encoder_layers": self.encoder_layers,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "fusion": self.fusion,
            }
        )
        return config
