"""UMDF in plain eager PyTorch: what a user would write instead of keras_umdf.

The benchmark's peer. It is the network and the objective of `keras_umdf.UMDF`
at its defaults (regression, `mask_mode="zero_fill"`, `readout="last_present"`,
`supervise_logits=True`, one layer per transformer encoder), written the way a
PyTorch user would write them from the paper: one module per attention, no
fused kernels beyond `torch.nn.functional.scaled_dot_product_attention`, no
compilation. Same shapes, same trainable parameters, same initialisers
(Glorot-uniform kernels, zero biases, as Keras's), same dropout placement, so
that a throughput ratio compares implementations, not models.

For one view of frames `x_m` (batch, T, d_m) per modality m:

1. `Z_m = Conv1D_k3(x_m) + PE` (no bias; sinusoidal positional embedding).
2. `num_layers` MCIM layers, per target t (Eqs. 8-9):
   `Z_t^c = LN(Z_t + CA(Z_all, Z_t))`,
   `Z_t^f = sum over o != t of LN(Z_t^c + CA([Z_t, Z_o], Z_t^c))`,
   `Z_t^h = LN(Z_t^f + Dropout(FFN(Z_t^f)))`.
3. `H = Encoder([Z_1^h, ..., Z_M^h])` (post-LN transformer layer, width M d).
4. DFIM (Eqs. 10-11): `H~_k = softmax_T(Dense_1(H_k)) * H_k`,
   `mu = sigmoid(Conv1D_k3([H~_a; H~_b]))`, `H_e = mu H~_a + (1 - mu) H~_b`;
   `H-bar = Encoder(H_e)`; prediction `Dense(ReLU(Dense(H-bar[last])))`.
5. `f_y`: a Dense layer on the last frames `h_a`, `h_b`.

Training objective (`umdf_loss`), as `keras_umdf.UMDF.compute_loss`:
`MSE(y_hat, y) + (MSE(f_y(h_a), y) + MSE(f_y(h_b), y)) / 2
 + lambda_fea MMD(h_a, h_b) + lambda_logits MSE(f_y(h_a), f_y(h_b))`.

Example:

```python
model = TorchUMDF({"text": 300, "audio": 74, "vision": 35})
outputs = model(view_a, view_b)          # training: both views
loss = umdf_loss(outputs, y, model.config)
prediction = model.predict(view)         # inference: one view, encoded once
```
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

MODALITIES = ("text", "audio", "vision")


@dataclasses.dataclass(frozen=True)
class UMDFConfig:
    """The network's configuration; the defaults are the paper's MOSI setting.

    Args:
        modality_dims: feature width per modality ("text", "audio", "vision").
        hidden_dim: the common width d.
        num_heads: heads of every attention (MCIM and the two encoders).
        num_layers: MCIM layers D.
        dropout: on attention probabilities, FFN outputs and the head's hidden
            layer (keras_umdf's default, 0.1).
        lambda_fea: weight of the feature distillation (MMD).
        lambda_logits: weight of the logits distillation (MSE).
        mmd_kernel_num: Gaussian kernels of the MMD.
        mmd_kernel_mul: bandwidth ratio between neighbouring kernels.
    """

    modality_dims: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"text": 300, "audio": 74, "vision": 35}
    )
    hidden_dim: int = 40
    num_heads: int = 10
    num_layers: int = 4
    dropout: float = 0.1
    lambda_fea: float = 1.0
    lambda_logits: float = 1.0
    mmd_kernel_num: int = 5
    mmd_kernel_mul: float = 2.0

    @property
    def joint_width(self) -> int:
        return self.hidden_dim * len(self.modality_dims)


def _dense(inputs: int, outputs: int) -> nn.Linear:
    """A Linear layer initialised as Keras's Dense: Glorot-uniform, zero bias."""
    layer = nn.Linear(inputs, outputs)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def _conv(inputs: int, outputs: int, bias: bool) -> nn.Conv1d:
    """A kernel-3 "same" Conv1d initialised as Keras's Conv1D."""
    layer = nn.Conv1d(inputs, outputs, 3, padding=1, bias=bias)
    nn.init.xavier_uniform_(layer.weight)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def _layer_norm(width: int) -> nn.LayerNorm:
    return nn.LayerNorm(width, eps=1e-5)


def _time_conv(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """Applies a Conv1d over time to (batch, T, channels)."""
    return conv(x.transpose(1, 2)).transpose(1, 2)


def positional_embedding(length: int, width: int) -> torch.Tensor:
    """Sinusoidal PE (T, d): sin at even features, cos at odd ones."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    even = torch.arange(0, width, 2, dtype=torch.float32)
    angles = position * torch.exp(-math.log(10000.0) * even / width)
    embedding = torch.zeros(length, width)
    embedding[:, 0::2] = torch.sin(angles)
    embedding[:, 1::2] = torch.cos(angles[:, : width // 2])
    return embedding


class CrossmodalAttention(nn.Module):
    """`LN(target + MultiHead(Q = target, K = V = source))` (Eq. 7)."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = _dense(width, width)
        self.key = _dense(width, width)
        self.value = _dense(width, width)
        self.output = _dense(width, width)
        self.norm = _layer_norm(width)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        batch, length, width = target.shape

        def split(x):
            return x.view(batch, -1, self.heads, width // self.heads).transpose(1, 2)

        attended = F.scaled_dot_product_attention(
            split(self.query(target)),
            split(self.key(source)),
            split(self.value(source)),
            dropout_p=self.dropout if self.training else 0.0,
        )
        attended = attended.transpose(1, 2).reshape(batch, length, width)
        return self.norm(target + self.output(attended))


class FeedForward(nn.Module):
    """`LN(x + Dropout(Dense(ReLU(Dense_4w(x)))))`."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.intermediate = _dense(width, 4 * width)
        self.output = _dense(4 * width, width)
        self.dropout = nn.Dropout(dropout)
        self.norm = _layer_norm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(self.output(F.relu(self.intermediate(x))))
        return self.norm(x + update)


class MCIMLayer(nn.Module):
    """One Multi-grained Crossmodal Interaction layer (Eqs. 8-9)."""

    def __init__(
        self, modalities: tuple[str, ...], width: int, heads: int, dropout: float
    ):
        super().__init__()
        self.modalities = modalities
        self.coarse = nn.ModuleDict(
            {t: CrossmodalAttention(width, heads, dropout) for t in modalities}
        )
        self.fine = nn.ModuleDict(
            {
                f"{t}_{o}": CrossmodalAttention(width, heads, dropout)
                for t in modalities
                for o in modalities
                if o != t
            }
        )
        self.ffn = nn.ModuleDict({t: FeedForward(width, dropout) for t in modalities})

    def forward(self, z: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        every = torch.cat([z[m] for m in self.modalities], dim=1)
        outputs = {}
        for t in self.modalities:
            coarse = self.coarse[t](z[t], every)
            fine = sum(
                self.fine[f"{t}_{o}"](coarse, torch.cat([z[t], z[o]], dim=1))
                for o in self.modalities
                if o != t
            )
            outputs[t] = self.ffn[t](fine)
        return outputs


class TransformerEncoder(nn.Module):
    """A post-LN transformer encoder layer: self-attention, then the FFN."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.attention = CrossmodalAttention(width, heads, dropout)
        self.ffn = FeedForward(width, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffn(self.attention(x, x))


class DFIM(nn.Module):
    """Dynamic Feature Integration (Eqs. 10-11), frame-wise reweighting."""

    def __init__(self, width: int):
        super().__init__()
        self.score = _dense(width, 1)
        self.gate = _conv(2 * width, width, bias=True)

    def forward(self, h_a: torch.Tensor, h_b: torch.Tensor) -> torch.Tensor:
        enhanced_a = torch.softmax(self.score(h_a), dim=1) * h_a
        enhanced_b = torch.softmax(self.score(h_b), dim=1) * h_b
        mu = torch.sigmoid(
            _time_conv(self.gate, torch.cat([enhanced_a, enhanced_b], dim=-1))
        )
        return mu * enhanced_a + (1 - mu) * enhanced_b


class TorchUMDF(nn.Module):
    """UMDF (Li et al., AAAI 2024) for regression, in eager PyTorch.

    Args:
        modality_dims: feature width per modality, e.g.
            `{"text": 300, "audio": 74, "vision": 35}`.
        **kwargs: the other fields of `UMDFConfig`.

    Call arguments (`forward`, training): two views, each a dict modality ->
    (batch, T, d_m) float32, missing frames zero. Returns a dict with
    "prediction" (batch, 1), "h_a", "h_b" (batch, M d), "logits_a",
    "logits_b" (batch, 1). `predict(view)` copies one view into both streams
    and encodes it once (the streams are identical without dropout).
    """

    def __init__(self, modality_dims: dict[str, int] | None = None, **kwargs):
        super().__init__()
        if modality_dims is not None:
            kwargs["modality_dims"] = dict(modality_dims)
        config = UMDFConfig(**kwargs)
        self.config = config
        # keras_umdf's order: text, audio, vision, then any other names sorted.
        known = [m for m in MODALITIES if m in config.modality_dims]
        others = sorted(m for m in config.modality_dims if m not in MODALITIES)
        self.modalities = tuple(known + others)
        d, width = config.hidden_dim, config.joint_width
        if d % config.num_heads or width % config.num_heads:
            raise ValueError(
                f"hidden_dim={d} and the joint width {width} must be divisible by "
                f"num_heads={config.num_heads}; choose num_heads that divides both."
            )
        self.projections = nn.ModuleDict(
            {m: _conv(dim, d, bias=False) for m, dim in config.modality_dims.items()}
        )
        self.mcim = nn.ModuleList(
            MCIMLayer(self.modalities, d, config.num_heads, config.dropout)
            for _ in range(config.num_layers)
        )
        self.joint_encoder = TransformerEncoder(width, config.num_heads, config.dropout)
        self.dfim = DFIM(width)
        self.final_encoder = TransformerEncoder(width, config.num_heads, config.dropout)
        self.head_hidden = _dense(width, width)
        self.head_dropout = nn.Dropout(config.dropout)
        self.head_output = _dense(width, 1)
        self.f_y = _dense(width, 1)
        self._embedding = None

    def encode(self, view: dict[str, torch.Tensor]) -> torch.Tensor:
        """One view's joint representation H, (batch, T, M d)."""
        length = view[self.modalities[0]].shape[1]
        device = view[self.modalities[0]].device
        if self._embedding is None or self._embedding.shape[0] != length:
            self._embedding = positional_embedding(length, self.config.hidden_dim)
        self._embedding = self._embedding.to(device)
        z = {
            m: _time_conv(self.projections[m], view[m]) + self._embedding
            for m in self.modalities
        }
        for layer in self.mcim:
            z = layer(z)
        return self.joint_encoder(torch.cat([z[m] for m in self.modalities], -1))

    def readout_index(self, view: dict[str, torch.Tensor]) -> torch.Tensor:
        """(batch,) the last frame where any modality is nonzero (else T - 1)."""
        present = torch.stack(
            [(view[m] != 0).any(dim=-1) for m in self.modalities]
        ).any(dim=0)
        last = present.shape[1] - 1
        from_end = torch.flip(present.int(), dims=[1]).argmax(dim=1)
        return torch.where(present.any(dim=1), last - from_end, last)

    def head(self, h_a, h_b, index) -> torch.Tensor:
        fused = self.final_encoder(self.dfim(h_a, h_b))
        hidden = F.relu(self.head_hidden(_frames(fused, index)))
        return self.head_output(self.head_dropout(hidden))

    def forward(self, view_a, view_b) -> dict[str, torch.Tensor]:
        # Both views through the shared encoder as one batch of 2B.
        both = {m: torch.cat([view_a[m], view_b[m]]) for m in self.modalities}
        h_a, h_b = self.encode(both).chunk(2)
        index_a, index_b = self.readout_index(both).chunk(2)
        last_a, last_b = _frames(h_a, index_a), _frames(h_b, index_b)
        return {
            "prediction": self.head(h_a, h_b, torch.maximum(index_a, index_b)),
            "h_a": last_a,
            "h_b": last_b,
            "logits_a": self.f_y(last_a),
            "logits_b": self.f_y(last_b),
        }

    def predict(self, view: dict[str, torch.Tensor]) -> torch.Tensor:
        """The prediction (batch, 1) for one view, in eval mode."""
        h = self.encode(view)
        return self.head(h, h, self.readout_index(view))


def _frames(sequence: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(batch, T, w) at (batch,) frame indices -> (batch, w)."""
    return sequence[torch.arange(sequence.shape[0]), index]


def maximum_mean_discrepancy(x, y, kernel_num: int = 5, kernel_mul: float = 2.0):
    """Squared MMD (Eqs. 1-3) under a sum of Gaussian kernels whose bandwidths
    are the joint batch's mean squared distance times `kernel_mul**i`,
    i = -(kernel_num // 2) .. kernel_num // 2 (no gradient through the base)."""
    n = x.shape[0]
    joint = torch.cat([x, y])
    norms = (joint * joint).sum(dim=-1)
    distances = (norms[:, None] + norms[None, :] - 2 * joint @ joint.T).clamp_min(0)
    total = joint.shape[0]
    base = (distances.sum() / max(total * total - total, 1)).detach().clamp_min(1e-6)
    kernels = sum(
        torch.exp(-distances / (base * kernel_mul**i))
        for i in range(-(kernel_num // 2), kernel_num - kernel_num // 2)
    )
    return kernels[:n, :n].mean() + kernels[n:, n:].mean() - 2 * kernels[:n, n:].mean()


def umdf_loss(outputs: dict, y: torch.Tensor, config: UMDFConfig) -> torch.Tensor:
    """The UMDF objective of `keras_umdf.UMDF` at its defaults (regression)."""
    y = y.reshape(-1, 1)
    loss = F.mse_loss(outputs["prediction"], y)
    loss = loss + 0.5 * (
        F.mse_loss(outputs["logits_a"], y) + F.mse_loss(outputs["logits_b"], y)
    )
    if config.lambda_fea:
        loss = loss + config.lambda_fea * maximum_mean_discrepancy(
            outputs["h_a"],
            outputs["h_b"],
            config.mmd_kernel_num,
            config.mmd_kernel_mul,
        )
    if config.lambda_logits:
        loss = loss + config.lambda_logits * F.mse_loss(
            outputs["logits_a"], outputs["logits_b"]
        )
    return loss
