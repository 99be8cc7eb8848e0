"""The SDUMC model: double-flow self-distillation for a missing transcript."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.layers import ModalityImagination
from keras_umdf.losses import rank_n_contrast
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import check_loss_weight
from keras_umdf.models.arguments import check_temperature
from keras_umdf.models.arguments import validate_modality_dims
from keras_umdf.models.multimodal_task import MultimodalTask
from keras_umdf.models.time_resampling import resample

SIMILARITIES = ("l2", "cosine")
# Loss weight -> the name its term has in the `fit` history.
LOSS_TERMS = {
    "lambda_full": "task_loss_full",
    "lambda_missing": "task_loss_missing",
    "lambda_mia": "mia_loss",
    "lambda_interaction": "interaction_loss",
    "lambda_fused": "fused_loss",
    "lambda_rnc": "rnc_loss",
}


@keras_umdf_export
class SDUMC(MultimodalTask):
    """SDUMC: a double-flow self-distilled network for a missing transcript.

    Weng et al., "Enhancing Multimodal Sentiment Analysis for Missing Modality
    through Self-Distillation and Unified Modality Cross-Attention" (the SDUMC
    paper; public code WarmCongee/SDUMC). One shared network runs two flows of
    every training clip:

    - flow 0, "full": audio, the real text, vision;
    - flow 1, "missing": audio, an imagined text, vision, where the imagined
      text representation is produced by the Modality Imagination Autoencoder
      (`ModalityImagination`, the MIA) from the audio and vision representations
      and, when the model has one, the pseudo text (e.g. embeddings of an ASR
      transcript of the audio, computed outside the package), which the MIA
      corrects (residual).

    The network is UMDF's `MultimodalBackbone` with the MIA between its
    projections and its crossmodal layers: flow 1's text slot is
    `MIA([P_audio, P_vision], residual=P_pseudo_text)` (the other streams
    resampled to the text's length if theirs differs); the MCIM stack stands
    in for SDUMC's Unified Modality Cross-Attention, and its text output is
    the "interaction" representation; the last frame h of the joint sequence
    is the fused representation. Heads on h: Dense(ReLU) -> Dense(1) for the
    prediction, Dense(`rnc_dim`, ReLU) -> Dense(`rnc_dim`) for the
    representation the Rank-N-Contrast loss orders.

    Training objective (in `compute_loss`, which the Keras training steps of all
    three backends call; the two flows run through the shared network as one
    batch of 2B):

        L = lambda_full * L_task(flow 0) + lambda_missing * L_task(flow 1)
          + lambda_mia * RMSE(MIA text of flow 1, sg(real text of flow 0))
          + lambda_interaction * RMSE(interaction text of flow 1, sg(flow 0's))
          + lambda_fused * RMSE(h of flow 1, h of flow 0)
          + lambda_rnc * RNC([z_0; z_1], [y; y], tau=rnc_temperature)

    with sg the stop-gradient: the full flow teaches the missing one, except in
    the fused term, which pulls both ways (as SDUMC does). The `lambda_mia` term
    is the MIA's reconstruction loss: its imagined text is trained towards the
    real text representation. The defaults are those of the SDUMC code
    (0.5 / 0.5 task, 0.1 and 0.7 stop-gradient text terms, 0.13 fused, 0.5 RNC
    with tau 2); RMSE = sqrt(mean squared error), as there. Every term is
    reported in the `fit` history (`task_loss_full`, `task_loss_missing`,
    `mia_loss`, `interaction_loss`, `fused_loss`, `rnc_loss`); a term whose
    lambda is 0 is neither computed nor reported. The same network without the
    double flow: `lambda_full=0`, `lambda_mia=lambda_interaction=lambda_fused=
    lambda_rnc=0`, `lambda_missing=1` trains flow 1 alone (directly on what the
    text-missing condition gives it).

    A separate task rather than an option of UMDF: SDUMC's two flows are
    fixed and asymmetric (teacher and student), need the pseudo-text stream
    and the MIA, and predict from one flow (docs/sdumc.md).

    Input contract (the same one-view dict as UMDF's): a dict with one float
    array (batch, T_m, d_m) per stream of `modality_dims`, keyed "text",
    "audio", "vision" and, if the model has one, "pseudo_text" (may be left out
    at inference: zeros); missing streams and frames are zero vectors. Optional
    "<stream>_mask" entries (batch, T_m), 1 where a frame is present, are
    accepted; the network zero-fills like UMDF's paper mode, and "text_mask"
    decides the flow at inference.

    - Training (`fit`): batches with every stream present (the real text and the
      pseudo text), e.g. `make_dataset(split, training=False, shuffle=True,
      condition="all_streams")`; the model builds both flows itself. `call`
      with `training=True` returns a dict of both flows' outputs.
    - Inference (`predict`, `evaluate`, `call`): each sample whose text is
      present (any "text_mask" frame, or any non-zero text feature without a
      mask) is predicted by flow 0, each sample without text by flow 1, so the
      "text_missing" condition (audio, vision, pseudo text) and the paper's
      seven conditions all work on one model.
    - Targets: regression scores (batch, 1) or (batch,). Outputs: (batch, 1)
      float32, whatever the dtype policy.

    Args:
        modality_dims: feature width of each stream: "text" and one or both of
            "audio", "vision", optionally "pseudo_text", e.g.
            `{"text": 300, "audio": 74, "vision": 35, "pseudo_text": 768}`.
        hidden_dim: common feature size d (assumed: 40, UMDF's).
        num_heads: attention heads in the crossmodal layers (assumed: 8,
            UMDF's head count for MOSEI, the dataset SDUMC reports on).
        num_layers: number of stacked crossmodal layers (assumed: 2; SDUMC's
            UMCA is one crossmodal stage, UMDF stacks 4).
        encoder_heads: heads of the joint transformer encoder; default
            `num_heads`.
        encoder_layers: depth of the joint encoder.
        intermediate_dim: FFN width; default 4 x the layer's width.
        dropout: dropout in attention, FFNs, the MIA and the heads (assumed:
            0.1, UMDF's).
        imagination_dims: the MIA encoder's widths (default `(hidden_dim // 2,)`).
        imagination_blocks: the MIA's residual blocks (SDUMC: 1).
        rnc_dim: width of the projection the RNC loss orders (SDUMC: 64).
        lambda_full: weight of the task loss on flow 0 (SDUMC: 0.5).
        lambda_missing: weight of the task loss on flow 1 (SDUMC: 0.5).
        lambda_mia: weight of the MIA reconstruction of the text representation,
            stop-gradient on the real one (SDUMC: 0.1).
        lambda_interaction: weight of the distillation of the text after the
            crossmodal layers, stop-gradient on flow 0 (SDUMC: 0.7).
        lambda_fused: weight of the distillation of the fused representation,
            no stop-gradient (SDUMC: 0.13).
        lambda_rnc: weight of the Rank-N-Contrast loss over both flows (SDUMC:
            0.5).
        rnc_temperature: tau of the RNC loss (SDUMC: 2.0).
        rnc_similarity: "l2" (SDUMC) or "cosine".
        task_loss: "mse" (SDUMC) or "l1".
        attention: "crossmodal" or "self" (the crossmodal layers' ablation).
        joint_length: length of the joint representation when the streams'
            lengths differ (default: the text's).

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosei", pseudo_text=True, scale=0.1)
    model = keras_umdf.SDUMC.for_dataset(data, num_heads=8)
    model.compile()  # Adam at 1e-3, warmed up over 100 updates
    train = keras_umdf.data.make_dataset(
        data["train"], training=False, shuffle=True, condition="all_streams",
        batch_size=32)
    model.fit(train, epochs=10)
    test = keras_umdf.data.make_dataset(
        data["test"], training=False, condition="text_missing", batch_size=64)
    model.predict(test)
    ```
    """

    TRAINING_TERMS = tuple(LOSS_TERMS.values())
    PREDICTION_KEY = "prediction_full"
    LOSS_HINT = (
        "SDUMC(task_loss=...) for the task loss and the lambda_* arguments for "
        "the weights of the terms"
    )

    def __init__(
        self,
        modality_dims: dict[str, int] | None = None,
        hidden_dim: int = 40,
        num_heads: int = 8,
        num_layers: int = 2,
        encoder_heads: int | None = None,
        encoder_layers: int = 1,
        intermediate_dim: int | None = None,
        dropout: float = 0.1,
        imagination_dims: tuple[int, ...] | list[int] | None = None,
        imagination_blocks: int = 1,
        rnc_dim: int = 64,
        lambda_full: float = 0.5,
        lambda_missing: float = 0.5,
        lambda_mia: float = 0.1,
        lambda_interaction: float = 0.7,
        lambda_fused: float = 0.13,
        lambda_rnc: float = 0.5,
        rnc_temperature: float = 2.0,
        rnc_similarity: str = "l2",
        task_loss: str = "mse",
        attention: str = "crossmodal",
        joint_length: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if modality_dims is None:
            modality_dims = {"text": 300, "audio": 74, "vision": 35}
        modality_dims = _validate_modality_dims(modality_dims)
        self.create_backbone(locals())
        self.streams = self.backbone.modalities
        self.has_pseudo_text = PSEUDO_TEXT in self.modality_dims
        self.imagination_dims = (
            None if imagination_dims is None else [int(w) for w in imagination_dims]
        )
        self.imagination_blocks = check_int("imagination_blocks", imagination_blocks)
        self.rnc_dim = check_int("rnc_dim", rnc_dim)
        for name in LOSS_TERMS:
            setattr(self, name, check_loss_weight(name, locals()[name]))
        if not (self.lambda_full or self.lambda_missing):
            raise ValueError(
                "lambda_full and lambda_missing are both 0, so nothing would learn "
                "to predict; give at least one task term a weight > 0."
            )
        self.rnc_temperature = check_temperature("rnc_temperature", rnc_temperature)
        check_choice("rnc_similarity", rnc_similarity, SIMILARITIES)
        self.rnc_similarity = rnc_similarity
        self.set_task("regression", task_loss=task_loss)

        policy = self.dtype_policy
        self.imagination = ModalityImagination(
            self.hidden_dim,
            hidden_dims=self.imagination_dims,
            num_blocks=self.imagination_blocks,
            dropout=self.dropout,
            dtype=policy,
            name="modality_imagination",
        )
        self.head_hidden = keras.layers.Dense(
            self.joint_width, activation="relu", dtype=policy, name="head_hidden"
        )
        self.head_dropout = keras.layers.Dropout(self.dropout, dtype=policy)
        self.head_output = keras.layers.Dense(1, dtype="float32", name="head_output")
        self.rnc_hidden = keras.layers.Dense(
            self.rnc_dim, activation="relu", dtype=policy, name="rnc_hidden"
        )
        self.rnc_output = keras.layers.Dense(
            self.rnc_dim, dtype="float32", name="rnc_output"
        )
        self.loss_trackers = {
            term: keras.metrics.Mean(name=term)
            for weight, term in LOSS_TERMS.items()
            if getattr(self, weight)
        }
        self.build()

    @classmethod
    def dataset_arguments(cls, data) -> dict:
        """`modality_dims`, with the "pseudo_text" stream when the data has one.

        Raises:
            ValueError: the dataset is not a regression dataset.
        """
        if getattr(data, "task", "regression") != "regression":
            raise ValueError(
                f"SDUMC predicts a continuous sentiment score (its RNC loss ranks "
                f"by label distance); the dataset {getattr(data, 'name', '')!r} has "
                f"task={data.task!r}. Use keras_umdf.UMDF for classification."
            )
        return super().dataset_arguments(data)

    def build(self, input_shape=None):
        if self.built:
            return
        self.backbone.build()
        d = self.hidden_dim
        others = [(None, None, d) for m in self.streams if m != "text"]
        self.imagination.build(
            others, (None, None, d) if self.has_pseudo_text else None
        )
        self.head_hidden.build((None, self.joint_width))
        self.head_output.build((None, self.joint_width))
        self.rnc_hidden.build((None, self.joint_width))
        self.rnc_output.build((None, self.rnc_dim))
        self.built = True

    # ---------------------------------------------------------------- forward

    def _check_view(self, view) -> None:
        if isinstance(view, dict) and {"view_a", "view_b"} <= set(view):
            raise ValueError(
                "SDUMC builds its two flows itself and takes one-view batches with "
                "every stream present; received UMDF's two-view batch (view_a, "
                "view_b). Use make_dataset(split, training=False, shuffle=True, "
                "condition='all_streams') for training batches."
            )
        self.backbone.check_view(view)

    def _flows(self, view, training=None):
        """Both flows through the shared network, as one batch of 2B."""
        projected = self.backbone.project(view)
        text = projected["text"]
        length = text.shape[1]
        sources = [resample(projected[m], length) for m in self.streams if m != "text"]
        pseudo = None
        if self.has_pseudo_text:
            pseudo = projected.get(PSEUDO_TEXT)
            pseudo = (
                ops.zeros_like(text) if pseudo is None else resample(pseudo, length)
            )
        imagined = self.imagination(sources, residual=pseudo, training=training)
        slots = {"text": ops.concatenate([text, imagined], axis=0)}
        for m in self.streams:
            if m != "text":
                slots[m] = ops.concatenate([projected[m], projected[m]], axis=0)
        z = self.backbone.interact(slots, training=training)
        h, _ = self.backbone.join(z, training=training)
        fused = h[:, -1, :]
        hidden = self.head_dropout(self.head_hidden(fused), training=training)
        prediction = ops.cast(self.head_output(hidden), "float32")
        return {
            "text": text,
            "imagined": imagined,
            "interaction": z["text"],
            "fused": fused,
            "prediction": prediction,
        }

    def call(self, inputs, training=None):
        self._check_view(inputs)
        out = self._flows(inputs, training=training)
        full, missing = ops.split(out["prediction"], 2, axis=0)
        if training:
            f32 = {k: ops.cast(v, "float32") for k, v in out.items()}
            interaction_0, interaction_1 = ops.split(f32["interaction"], 2, axis=0)
            fused_0, fused_1 = ops.split(f32["fused"], 2, axis=0)
            result = {
                "prediction_full": full,
                "prediction_missing": missing,
                "text_real": f32["text"],
                "text_imagined": f32["imagined"],
                "interaction_full": interaction_0,
                "interaction_missing": interaction_1,
                "fused_full": fused_0,
                "fused_missing": fused_1,
            }
            if self.lambda_rnc:
                z = ops.cast(self.rnc_output(self.rnc_hidden(out["fused"])), "float32")
                result["rnc_full"], result["rnc_missing"] = ops.split(z, 2, axis=0)
            return result
        has_text = self._has_text(inputs)
        return ops.where(has_text[:, None], full, missing)

    def _has_text(self, view):
        """Bool (batch,): whether any frame of the real text is present."""
        if "text_mask" in view:
            return ops.any(ops.cast(view["text_mask"], "float32") > 0, axis=1)
        return ops.any(ops.not_equal(view["text"], 0), axis=(1, 2))

    # ------------------------------------------------------------- objective

    def loss_terms(self, y, y_pred, sample_weight=None) -> dict:
        if not isinstance(y_pred, dict):
            return {
                "task_loss": (1.0, self.compute_task_loss(y, y_pred, sample_weight))
            }
        values = {}
        if self.lambda_full:
            values["lambda_full"] = self.compute_task_loss(
                y, y_pred["prediction_full"], sample_weight
            )
        if self.lambda_missing:
            values["lambda_missing"] = self.compute_task_loss(
                y, y_pred["prediction_missing"], sample_weight
            )
        if self.lambda_mia:
            values["lambda_mia"] = _rmse(
                y_pred["text_imagined"], ops.stop_gradient(y_pred["text_real"])
            )
        if self.lambda_interaction:
            values["lambda_interaction"] = _rmse(
                y_pred["interaction_missing"],
                ops.stop_gradient(y_pred["interaction_full"]),
            )
        if self.lambda_fused:
            values["lambda_fused"] = _rmse(
                y_pred["fused_missing"], y_pred["fused_full"]
            )
        if self.lambda_rnc:
            # Samples of weight 0 (e.g. padding) take no part in the ranking.
            mask = None
            if sample_weight is not None:
                mask = ops.reshape(ops.cast(sample_weight, "float32"), (-1,)) > 0
            values["lambda_rnc"] = rank_n_contrast(
                ops.stack([y_pred["rnc_full"], y_pred["rnc_missing"]], axis=1),
                ops.reshape(ops.cast(y, "float32"), (-1,)),
                temperature=self.rnc_temperature,
                similarity=self.rnc_similarity,
                mask=mask,
            )
        return {
            LOSS_TERMS[weight]: (getattr(self, weight), value)
            for weight, value in values.items()
        }

    # ------------------------------------------------------------ serialization

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "imagination_dims": self.imagination_dims,
                "imagination_blocks": self.imagination_blocks,
                "rnc_dim": self.rnc_dim,
                "lambda_full": self.lambda_full,
                "lambda_missing": self.lambda_missing,
                "lambda_mia": self.lambda_mia,
                "lambda_interaction": self.lambda_interaction,
                "lambda_fused": self.lambda_fused,
                "lambda_rnc": self.lambda_rnc,
                "rnc_temperature": self.rnc_temperature,
                "rnc_similarity": self.rnc_similarity,
                "task_loss": self.task_loss,
            }
        )
        return config


def _rmse(a, b):
    """sqrt(mean squared difference) in float32, with a finite gradient at 0."""
    squared = ops.mean(ops.square(ops.cast(a, "float32") - ops.cast(b, "float32")))
    return ops.sqrt(ops.maximum(squared, 1e-12))


def _validate_modality_dims(modality_dims) -> dict[str, int]:
    names = (*MODALITIES, PSEUDO_TEXT)
    dims = validate_modality_dims(
        modality_dims,
        names,
        "{'text': 300, 'audio': 74, 'vision': 35, 'pseudo_text': 768}",
    )
    if "text" not in dims or not ({"audio", "vision"} & set(dims)):
        raise ValueError(
            "SDUMC needs the text (the modality that goes missing) and at least one "
            "of audio and vision (from which the MIA imagines it); received "
            f"modality_dims={modality_dims!r}."
        )
    return dims
