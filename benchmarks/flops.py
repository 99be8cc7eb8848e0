"""Analytic FLOP count of UMDF from its configuration.

Counts the matrix products, at 2 FLOPs per multiply-add: the parameterised ones
(convolutions, Q/K/V/O projections, FFNs, DFIM's gate and scorer, the heads) and
the attention products (Q K^T and P V). Elementwise work (softmax, layer norms,
dropout, activations) is left out, as in the usual "model FLOPs" count. A backward
pass costs twice its forward pass.

The issue's figures (0.52 GFLOP per training sample, 0.18 per inference sample at
the paper's MOSI configuration) count the parameterised products only and run
the encoder twice at inference (a test sample copied into both streams, each
encoded): `paper_mosi()` with `with_attention=False` and `encodes=2` reproduces
them (see `python -m benchmarks.flops`).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Architecture:
    """The UMDF configuration that fixes its cost (aligned data: one length T).

    Args:
        modality_dims: input feature width per modality.
        length: frames per modality, T.
        hidden_dim: d.
        num_layers: MCIM layers.
        encoder_layers: depth of the joint and the final transformer encoders.
        mcim_intermediate: MCIM FFN width (default 4 d).
        encoder_intermediate: encoder FFN width (default 4 x the joint width).
        kernel_size: taps of the front-end and the DFIM gate convolutions.
        output_units: units of the prediction head and of f_y.
    """

    modality_dims: tuple[int, ...] = (300, 74, 35)
    length: int = 50
    hidden_dim: int = 40
    num_layers: int = 4
    encoder_layers: int = 1
    mcim_intermediate: int | None = None
    encoder_intermediate: int | None = None
    kernel_size: int = 3
    output_units: int = 1

    @property
    def joint_width(self) -> int:
        return self.hidden_dim * len(self.modality_dims)


def paper_mosi() -> Architecture:
    """The paper's MOSI configuration (T=50, 300/74/35, d=40, D=4)."""
    return Architecture()


def _attention(target_len, source_len, width, with_attention):
    """Forward FLOPs of one attention with width-`width` projections."""
    weights = 2 * width * width * (2 * target_len + 2 * source_len)  # Q, O; K, V
    products = 2 * 2 * target_len * source_len * width  # Q K^T and P V
    return weights + (products if with_attention else 0)


def _encoder(arch, with_attention):
    """Forward FLOPs of one transformer encoder layer on (T, joint width)."""
    t, w = arch.length, arch.joint_width
    hidden = arch.encoder_intermediate or 4 * w
    return _attention(t, t, w, with_attention) + 2 * 2 * t * w * hidden


def encode_flops(arch: Architecture, with_attention: bool = True) -> int:
    """Forward FLOPs of encoding one view: front end, MCIM, joint encoder."""
    t, d, m = arch.length, arch.hidden_dim, len(arch.modality_dims)
    flops = sum(2 * t * arch.kernel_size * width * d for width in arch.modality_dims)
    hidden = arch.mcim_intermediate or 4 * d
    per_target = (
        _attention(t, m * t, d, with_attention)  # coarse: all modalities
        + (m - 1) * _attention(t, 2 * t, d, with_attention)  # fine: pairs
        + 2 * 2 * t * d * hidden  # FFN
    )
    flops += arch.num_layers * m * per_target
    flops += arch.encoder_layers * _encoder(arch, with_attention)
    return flops


def head_flops(arch: Architecture, with_attention: bool = True) -> int:
    """Forward FLOPs after the encoder: DFIM, final encoder, prediction head."""
    t, w = arch.length, arch.joint_width
    flops = 2 * 2 * t * w  # frame scores of both streams
    flops += 2 * t * arch.kernel_size * (2 * w) * w  # DFIM gate convolution
    flops += arch.encoder_layers * _encoder(arch, with_attention)
    flops += 2 * w * w + 2 * w * arch.output_units  # head on the last frame
    return flops


def training_flops(arch: Architecture, with_attention: bool = True) -> int:
    """FLOPs of one training sample: two views forward and backward."""
    forward = 2 * encode_flops(arch, with_attention) + head_flops(arch, with_attention)
    forward += 2 * 2 * arch.joint_width * arch.output_units  # f_y(h_a), f_y(h_b)
    return 3 * forward


def inference_flops(
    arch: Architecture, with_attention: bool = True, encodes: int = 1
) -> int:
    """FLOPs of one inference sample.

    keras_umdf and its PyTorch peer encode a test sample once (both streams are
    the same sample and dropout is off), `encodes=1`; a model that encodes each
    stream, as `../shared/perf/torch_reference.py` does, `encodes=2`.
    """
    return encodes * encode_flops(arch, with_attention) + head_flops(
        arch, with_attention
    )


def main() -> None:
    arch = paper_mosi()
    print("UMDF at the paper's MOSI configuration, GFLOP per sample:")
    for label, with_attention in (("weights only", False), ("with attention", True)):
        print(
            f"  {label:15s} training {training_flops(arch, with_attention) / 1e9:.3f}"
            f"  inference (encoder once) "
            f"{inference_flops(arch, with_attention) / 1e9:.3f}"
            f"  inference (encoder twice) "
            f"{inference_flops(arch, with_attention, encodes=2) / 1e9:.3f}"
        )


if __name__ == "__main__":
    main()
