"""The UMDF model: two-view self-distillation over a shared MCIM/DFIM network."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.losses import jensen_shannon_divergence
from keras_umdf.losses import maximum_mean_discrepancy
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.models.arguments import check_bool
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import check_loss_weight
from keras_umdf.models.arguments import validate_modality_dims
from keras_umdf.models.distillation_ramp import DistillationRamp
from keras_umdf.models.fusion_head import FusionHead
from keras_umdf.models.multimodal_task import MultimodalTask
from keras_umdf.models.readout import READOUTS
from keras_umdf.models.readout import gather_frames
from keras_umdf.models.readout import readout_index

LOGITS_LOSSES = ("mse", "js")
VIEW_KEYS = ("view_a", "view_b")
IGNORED_STREAMS = (PSEUDO_TEXT, f"{PSEUDO_TEXT}_mask")
"""Keys a view may hold that UMDF has no input for (SDUMC's pseudo text): accepted
and ignored, so one dataset feeds both models."""


@keras_umdf_export
class UMDF(MultimodalTask):
    """UMDF: unified self-distillation for sentiment with missing modalities.

    Li et al., AAAI 2024. One shared network encodes two differently incomplete
    views of each training sample; a self-distillation loss pulls their joint
    representations together, and the Dynamic Feature Integration Module (DFIM)
    fuses them for the prediction:

    1. The `MultimodalBackbone`: per modality a Conv1D projection to
       `hidden_dim` and a positional embedding, `num_layers` MCIM layers
       (Eqs. 8-9), the modalities concatenated -> `TransformerEncoder` -> H_k
       (T, 3 * hidden_dim) for view k in {a, b}.
    2. DFIM (Eqs. 10-11) fuses H_a and H_b into H_e -> `TransformerEncoder` ->
       H-bar; the prediction head (Dense, ReLU, Dense) reads one frame of it.
    3. `f_y`, one Dense layer, maps h_a and h_b (H_a and H_b read at that
       frame) to logits for the logits distillation.

    Training objective (`compute_loss`):

        L = L_task + lambda_fea * MMD(h_a, h_b)
                   + lambda_logits * D(f_y(h_a), f_y(h_b))
                   (+ the task loss of f_y on both views: `supervise_logits`)

    with D the MSE (regression, Eq. 6) or the Jensen-Shannon divergence
    (classification, Eq. 5). No stop-gradient: knowledge flows both ways. The
    terms are reported in the `fit` history as `task_loss`, `fea_loss`,
    `logits_loss` and `logits_task_loss`; a term whose weight is 0 is neither
    computed nor reported, which gives the paper's ablations and, with both
    lambdas at 0, plain training of the same network. SDUMC's Rank-N-Contrast
    loss and modality imagination on this network: `UMDFWithSDUMCParts`.

    Inputs:

    - One view (evaluation, prediction, or plain training): a dict with one
      float array (batch, T_m, d_m) per modality of `modality_dims`, keyed
      "text", "audio", "vision"; missing modalities and frames are zero
      vectors. Optional "<modality>_mask" entries (batch, T_m), 1 where a frame
      is present, mark absent frames for the readout, the input normalisation
      and `mask_mode="masked"`. A "pseudo_text" entry (SDUMC's stream) is
      accepted and ignored. As in the paper, one view is copied into both
      streams.
    - Two views (the training batches of `keras_umdf.data.make_dataset`):
      `{"view_a": view, "view_b": view}`; `call` then returns a dict with
      "prediction", "h_a", "h_b", "logits_a" and "logits_b".
    - Targets: regression (batch, 1) or (batch,) scores; classification
      (batch,) class indices; multi-label (batch, num_classes) 0/1 flags.

    Outputs (float32 whatever the dtype policy): regression (batch, 1) scores;
    classification (batch, num_classes) logits; multi-label
    (batch, num_classes, 2) logits (absent, present) per label, as MulT's
    IEMOCAP labels.

    Args:
        modality_dims: feature width of each modality, e.g.
            `{"text": 300, "audio": 74, "vision": 35}` (2 or 3 of "text",
            "audio", "vision").
        task: "regression" (MOSI/MOSEI sentiment) or "classification".
        num_classes: number of classes (classification) or of labels
            (multi-label, e.g. 4 for IEMOCAP).
        multi_label: whether each of the `num_classes` labels is a separate
            absent/present decision (IEMOCAP's form).
        hidden_dim: common feature size d (paper: 40).
        num_heads: attention heads in MCIM (paper: 10 MOSI/IEMOCAP, 8 MOSEI).
        num_layers: number of stacked MCIM layers D (paper: 4).
        encoder_heads: heads of the two transformer encoders; default
            `num_heads` (design decision 7, docs/design-decisions.md).
        encoder_layers: depth of each transformer encoder (assumed: 1).
        intermediate_dim: FFN width; default 4 x each layer's width.
        dropout: dropout in attention, FFNs and the head (assumed: 0.1).
        lambda_fea: weight lambda_1 of the feature distillation (assumed 1.0;
            design decision 3).
        lambda_logits: weight lambda_2 of the logits distillation (assumed 1.0).
        distillation_warmup: training steps over which the distillation
            weights rise linearly from 0 to their values (`DistillationRamp`).
            Default 0: the paper's objective from the first step.
        task_loss: "mse" (paper) or "l1" (MMSA's) for regression;
            "crossentropy" for classification. Default by task (decision 8).
        logits_loss: "mse" or "js"; default "mse" for regression, "js" for
            classification (the paper's choice).
        supervise_logits: also train `f_y` on the labels (its task loss on
            both views, reported as `logits_task_loss`), so that the distilled
            logits are each view's prediction, the "soft labels" of the
            paper's text. Default True, decided on real CMU-MOSI features
            (design decision 9): without it the untrained `f_y` pulled the
            views together until the network predicted the mean.
        attention: "crossmodal" (paper) or "self" (Table 3 ablation).
        fusion: "dynamic" (DFIM, paper) or "concat" (Table 3 ablation).
        mask_mode: "zero_fill" (paper) or "masked" (attention skips absent
            frames; design decision 5).
        joint_length: the length of H for modalities of different lengths
            (design decision 6); default the text's length.
        mmd_kernel_num: number of Gaussian kernels in the MMD (decision 2).
        mmd_kernel_mul: bandwidth ratio between neighbouring kernels.
        normalize_inputs: standardise each modality per dimension before its
            projection, fitted by `adapt` on the training split's present
            frames and saved with the model (design decision 11). Default
            False (the paper's network); the commands turn it on.
        readout: where H is read for `h_a`, `h_b` and the prediction:
            "last_present" (default: each clip's last frame where any modality
            is present, whichever side the padding is on) or "last" (position
            T - 1, the paper's words read literally; design decision 12).

    Example:

    ```python
    model = keras_umdf.UMDF({"text": 300, "audio": 74, "vision": 35})
    model.compile()  # Adam at 1e-3, warmed up over 100 updates
    train = keras_umdf.data.make_dataset(data["train"], training=True,
                                         batch_size=128)
    model.fit(train, epochs=100)
    model.predict({"text": x_l, "audio": x_a, "vision": x_v})
    ```
    """

    BACKBONE_ARGUMENTS = (
        *MultimodalTask.BACKBONE_ARGUMENTS,
        "mask_mode",
        "normalize_inputs",
    )
    IGNORED_INPUTS = IGNORED_STREAMS
    TRAINING_TERMS = ("fea_loss", "logits_loss", "logits_task_loss")
    LOSS_HINT = (
        "UMDF(task_loss=...) for the task loss and lambda_fea / lambda_logits for "
        "the distillation weights"
    )

    def __init__(
        self,
        modality_dims: dict[str, int] | None = None,
        task: str = "regression",
        num_classes: int | None = None,
        multi_label: bool = False,
        hidden_dim: int = 40,
        num_heads: int = 10,
        num_layers: int = 4,
        encoder_heads: int | None = None,
        encoder_layers: int = 1,
        intermediate_dim: int | None = None,
        dropout: float = 0.1,
        lambda_fea: float = 1.0,
        lambda_logits: float = 1.0,
        distillation_warmup: int = 0,
        task_loss: str | None = None,
        logits_loss: str | None = None,
        supervise_logits: bool = True,
        attention: str = "crossmodal",
        fusion: str = "dynamic",
        mask_mode: str = "zero_fill",
        joint_length: int | None = None,
        mmd_kernel_num: int = 5,
        mmd_kernel_mul: float = 2.0,
        normalize_inputs: bool = False,
        readout: str = "last_present",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if modality_dims is None:
            modality_dims = {"text": 300, "audio": 74, "vision": 35}
        # UMDF has no pseudo-text input: only the three modalities.
        modality_dims = validate_modality_dims(
            modality_dims, MODALITIES, "{'text': 300, 'audio': 74, 'vision': 35}"
        )
        self.set_task(task, num_classes, multi_label, task_loss)
        self.create_backbone(locals())
        self.lambda_fea = check_loss_weight("lambda_fea", lambda_fea)
        self.lambda_logits = check_loss_weight("lambda_logits", lambda_logits)
        self.distillation_warmup = check_int(
            "distillation_warmup", distillation_warmup, minimum=0
        )
        self.logits_loss = logits_loss or ("mse" if task == "regression" else "js")
        check_choice("logits_loss", self.logits_loss, LOGITS_LOSSES)
        check_choice("fusion", fusion, ("dynamic", "concat"))
        self.fusion = fusion
        self.mmd_kernel_num = check_int("mmd_kernel_num", mmd_kernel_num)
        self.mmd_kernel_mul = float(mmd_kernel_mul)
        self.supervise_logits = check_bool("supervise_logits", supervise_logits)
        check_choice("readout", readout, READOUTS)
        self.readout = readout
        self.modalities = self.backbone.modalities

        self.distillation_ramp = (
            DistillationRamp(
                self.distillation_warmup, dtype=self.dtype_policy, name="distillation"
            )
            if self.distillation_warmup and self._distills()
            else None
        )
        units = self.output_units()
        self.fusion_head = FusionHead(
            units,
            self.joint_width,
            self.encoder_heads,
            encoder_layers=self.encoder_layers,
            intermediate_dim=intermediate_dim,
            dropout=dropout,
            fusion=fusion,
            dtype=self.dtype_policy,
            name="fusion_head",
        )
        self.logits_head = keras.layers.Dense(units, dtype="float32", name="f_y")
        self._create_layers()
        self.loss_trackers = {
            name: keras.metrics.Mean(name=name) for name in self._reported_terms()
        }
        # Every shape is known from the configuration: build now, so that
        # `load_weights`, `summary` and `count_params` work before a first call.
        self.build()

    def _create_layers(self) -> None:
        """Creates a subclass's own layers, after UMDF's (none here)."""

    def _distills(self) -> bool:
        """Whether any term that `distillation_warmup` ramps has a weight."""
        return bool(self.lambda_fea or self.lambda_logits)

    def _reported_terms(self) -> list[str]:
        """The history entries of this model's objective."""
        terms = ["task_loss"]
        if self.supervise_logits:
            terms.append("logits_task_loss")
        if self.lambda_fea:
            terms.append("fea_loss")
        if self.lambda_logits:
            terms.append("logits_loss")
        return terms

    @classmethod
    def dataset_arguments(cls, data) -> dict:
        """`modality_dims` (without a "pseudo_text" stream, which UMDF has no
        input for), `task`, `num_classes` and `multi_label` (and the feature
        extractors, where the data records them)."""
        arguments = super().dataset_arguments(data)
        arguments.update(
            modality_dims={
                m: d for m, d in data.modality_dims.items() if m != PSEUDO_TEXT
            },
            task=data.task,
            num_classes=data.num_classes if data.task == "classification" else None,
            multi_label=bool(data.multi_label),
        )
        return arguments

    def adapt(self, split) -> None:
        """Fits the input normalisation on training data
        (`MultimodalBackbone.adapt`); the statistics are weights of the model,
        saved in its `.keras` file, so `predict` takes raw features."""
        self.backbone.adapt(split)

    @property
    def normalizations(self) -> dict:
        """The backbone's `FeatureNormalization` layers, by modality."""
        return self.backbone.normalizations

    def build(self, input_shape=None):
        if self.built:
            return
        self.backbone.build()
        self.fusion_head.build()
        self.logits_head.build((None, self.joint_width))
        self.built = True

    # ---------------------------------------------------------------- forward

    def encode(self, view, training=None):
        """Encodes one view into the joint representation H (batch, T, 3d)."""
        return self._encode(view, training=training)[0]

    def _encode(self, view, training=None):
        """H, the extra losses of the encoding (a dict of float tensors; none
        here), and the bool (batch, T) frames of H where a modality is present."""
        backbone = self.backbone
        presence = backbone.presence(view)
        masks = backbone.attention_masks(presence)
        z = backbone.interact(backbone.project(view, presence), masks, training)
        h, joint_presence = backbone.join(z, presence, masks, training=training)
        return h, {}, joint_presence

    def _head(self, h_a, h_b, index, training=None):
        """The prediction from H_a and H_b, read at frame `index` of H-bar."""
        return self.shape_output(self.fusion_head(h_a, h_b, index, training=training))

    def call(self, inputs, training=None):
        """Predicts from one view, or runs both views of a training batch.

        Args:
            inputs: one view `{"text": ..., "audio": ..., "vision": ...}` (plus
                optional "<modality>_mask"; a "pseudo_text" entry is accepted
                and ignored), or `{"view_a": view, "view_b": view}`.
            training: whether dropout is active.

        Returns:
            The prediction for one view; for two views a dict with
            "prediction", "h_a", "h_b", "logits_a", "logits_b" (and the
            encoding's extra losses, e.g. "mia_loss").
        """
        check = self.backbone.check_view
        if isinstance(inputs, dict) and set(VIEW_KEYS) <= set(inputs):
            view_a, view_b = inputs["view_a"], inputs["view_b"]
            check(view_a, "inputs['view_a']", ignored=IGNORED_STREAMS)
            check(view_b, "inputs['view_b']", ignored=IGNORED_STREAMS)
            # Both views go through the shared encoder as one batch of 2B.
            both = {
                k: ops.concatenate([view_a[k], view_b[k]], axis=0)
                for k in view_a
                if k in view_b and k not in IGNORED_STREAMS
            }
            h, extra, presence = self._encode(both, training=training)
            h_a, h_b = ops.split(h, 2, axis=0)
            index_a, index_b = ops.split(
                readout_index(presence, self.readout), 2, axis=0
            )
            last_a, last_b = gather_frames(h_a, index_a), gather_frames(h_b, index_b)
            # H-bar mixes both views: read it at the later of their two frames.
            index = ops.maximum(index_a, index_b)
            outputs = {
                "prediction": self._head(h_a, h_b, index, training=training),
                "h_a": ops.cast(last_a, "float32"),
                "h_b": ops.cast(last_b, "float32"),
                "logits_a": self.shape_output(self.logits_head(last_a)),
                "logits_b": self.shape_output(self.logits_head(last_b)),
            }
            outputs.update({k: ops.cast(v, "float32") for k, v in extra.items()})
            return outputs
        check(inputs, "inputs", ignored=IGNORED_STREAMS)
        h_a, _, presence = self._encode(inputs, training=training)
        # Without dropout both streams of a cloned sample are identical: encode once.
        h_b = (
            self.encode(inputs, training=training) if training and self.dropout else h_a
        )
        index = readout_index(presence, self.readout)
        return self._head(h_a, h_b, index, training=training)

    # ------------------------------------------------------------- objective

    def loss_terms(self, y, y_pred, sample_weight=None) -> dict:
        if not isinstance(y_pred, dict):
            return {
                "task_loss": (1.0, self.compute_task_loss(y, y_pred, sample_weight))
            }
        terms = {
            "task_loss": (
                1.0,
                self.compute_task_loss(y, y_pred["prediction"], sample_weight),
            ),
            **self.distillation_terms(y, y_pred, sample_weight),
        }
        ramp = (
            1.0 if self.distillation_ramp is None else self.distillation_ramp.advance()
        )
        return {
            name: (ramp * weight if name in self.RAMPED_TERMS else weight, value)
            for name, (weight, value) in terms.items()
        }

    RAMPED_TERMS = ("fea_loss", "logits_loss")
    """The terms `distillation_warmup` ramps up."""

    def distillation_terms(self, y, y_pred, sample_weight=None) -> dict:
        """name -> (weight, value) of every term of a two-view batch beyond
        L_task, in the order they are added."""
        terms = {}
        if self.supervise_logits:
            terms["logits_task_loss"] = (
                1.0,
                0.5
                * (
                    self.compute_task_loss(y, y_pred["logits_a"], sample_weight)
                    + self.compute_task_loss(y, y_pred["logits_b"], sample_weight)
                ),
            )
        if self.lambda_fea:
            fea = maximum_mean_discrepancy(
                y_pred["h_a"],
                y_pred["h_b"],
                kernel_num=self.mmd_kernel_num,
                kernel_mul=self.mmd_kernel_mul,
            )
            terms["fea_loss"] = (self.lambda_fea, fea)
        if self.lambda_logits:
            if self.logits_loss == "mse":
                logits = ops.mean(ops.square(y_pred["logits_a"] - y_pred["logits_b"]))
            else:
                logits = jensen_shannon_divergence(
                    y_pred["logits_a"], y_pred["logits_b"]
                )
            terms["logits_loss"] = (self.lambda_logits, logits)
        return terms

    # ------------------------------------------------------------ serialization

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "task": self.task,
                "num_classes": self.num_classes,
                "multi_label": self.multi_label,
                "lambda_fea": self.lambda_fea,
                "lambda_logits": self.lambda_logits,
                "distillation_warmup": self.distillation_warmup,
                "task_loss": self.task_loss,
                "logits_loss": self.logits_loss,
                "supervise_logits": self.supervise_logits,
                "fusion": self.fusion,
                "mmd_kernel_num": self.mmd_kernel_num,
                "mmd_kernel_mul": self.mmd_kernel_mul,
                "readout": self.readout,
            }
        )
        return config
