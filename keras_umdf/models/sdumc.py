"""SDUMC: double-flow self-distillation for sentiment when the transcript is missing."""

from __future__ import annotations

import keras
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.distribution import scale_loss_for_replicas
from keras_umdf.layers import ModalityImagination
from keras_umdf.layers import ModalityProjection
from keras_umdf.layers import MultiGrainedCrossmodalInteraction
from keras_umdf.layers import PositionalEmbedding
from keras_umdf.layers import TransformerEncoder
from keras_umdf.losses import rank_n_contrast
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import check_loss_weight
from keras_umdf.models.arguments import check_temperature
from keras_umdf.models.arguments import validate_modality_dims
from keras_umdf.models.compiling import prepare_optimizer
from keras_umdf.models.compiling import resolve_optimizer
from keras_umdf.models.time_resampling import interpolation_matrix

TASK_LOSSES = ("mse", "l1")
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
class SDUMC(keras.Model):
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

    The network is built from the layers UMDF uses:

    1. Per stream m (text, audio, vision, pseudo text): `ModalityProjection`
       (Conv1D, kernel 3) to width `hidden_dim` -> P_m. Flow 1's text slot is
       `MIA([P_audio, P_vision], residual=P_pseudo_text)` (frame by frame; the
       other streams are linearly resampled to the text's length if theirs
       differs).
    2. Sinusoidal `PositionalEmbedding`, then `num_layers`
       `MultiGrainedCrossmodalInteraction` layers over (text slot, audio,
       vision): this crossmodal attention stack stands in for SDUMC's Unified
       Modality Cross-Attention (UMCA); its text output is the "interaction"
       representation.
    3. Joint representation: the streams concatenated on the feature axis ->
       `TransformerEncoder` -> H; its last frame h is the fused representation.
    4. Prediction head Dense(ReLU) -> Dense(1) on h; a projection head
       Dense(`rnc_dim`, ReLU) -> Dense(`rnc_dim`) gives the representation the
       Rank-N-Contrast loss orders.

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

    A separate model rather than an option of UMDF: UMDF's two views are two
    random incomplete copies of a clip, symmetric, fused by DFIM and distilled
    without stop-gradient; SDUMC's two flows are fixed (real text vs imagined
    text), asymmetric (teacher and student), need the extra pseudo-text stream
    and the MIA, and predict from one flow. Forcing both into one class would
    give each a forest of arguments that mean nothing to the other. Both share
    the layers, the input contract and the conventions; the RNC loss and the MIA
    are reusable on their own.

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

    task = "regression"
    """SDUMC predicts a continuous sentiment score (read by the evaluation)."""
    multi_label = False

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
        self.modality_dims = _validate_modality_dims(modality_dims)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        num_heads = check_int("num_heads", num_heads)
        num_layers = check_int("num_layers", num_layers)
        encoder_layers = check_int("encoder_layers", encoder_layers)
        imagination_blocks = check_int("imagination_blocks", imagination_blocks)
        rnc_dim = check_int("rnc_dim", rnc_dim)
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}; "
                "choose hidden_dim as a multiple of num_heads."
            )
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.streams = tuple(m for m in MODALITIES if m in self.modality_dims)
        self.has_pseudo_text = PSEUDO_TEXT in self.modality_dims
        self.encoder_heads = check_int(
            "encoder_heads", num_heads if encoder_heads is None else encoder_heads
        )
        self.joint_width = hidden_dim * len(self.streams)
        if self.joint_width % self.encoder_heads:
            raise ValueError(
                f"The joint width {self.joint_width} ({len(self.streams)} streams x "
                f"hidden_dim {hidden_dim}) is not divisible by encoder_heads="
                f"{self.encoder_heads}; pass encoder_heads that divides it."
            )
        self.encoder_layers = encoder_layers
        self.intermediate_dim = check_int(
            "intermediate_dim", intermediate_dim, none_means="4 x the layer's width"
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        self.dropout = dropout
        self.imagination_dims = (
            None if imagination_dims is None else [int(w) for w in imagination_dims]
        )
        self.imagination_blocks = imagination_blocks
        self.rnc_dim = rnc_dim
        weights = {
            "lambda_full": lambda_full,
            "lambda_missing": lambda_missing,
            "lambda_mia": lambda_mia,
            "lambda_interaction": lambda_interaction,
            "lambda_fused": lambda_fused,
            "lambda_rnc": lambda_rnc,
        }
        for name, value in weights.items():
            setattr(self, name, check_loss_weight(name, value))
        if not (self.lambda_full or self.lambda_missing):
            raise ValueError(
                "lambda_full and lambda_missing are both 0, so nothing would learn "
                "to predict; give at least one task term a weight > 0."
            )
        self.rnc_temperature = check_temperature("rnc_temperature", rnc_temperature)
        check_choice("rnc_similarity", rnc_similarity, SIMILARITIES)
        check_choice("task_loss", task_loss, TASK_LOSSES)
        check_choice("attention", attention, ("crossmodal", "self"))
        self.rnc_similarity = rnc_similarity
        self.task_loss = task_loss
        self.attention = attention
        self.joint_length = check_int(
            "joint_length", joint_length, none_means="the text's length"
        )

        policy = self.dtype_policy
        self.projections = {
            m: ModalityProjection(hidden_dim, dtype=policy, name=f"{m}_projection")
            for m in self.modality_dims
        }
        self.imagination = ModalityImagination(
            hidden_dim,
            hidden_dims=self.imagination_dims,
            num_blocks=imagination_blocks,
            dropout=dropout,
            dtype=policy,
            name="modality_imagination",
        )
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
                name=f"crossmodal_{i}",
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
            for i in range(encoder_layers)
        ]
        self.head_hidden = keras.layers.Dense(
            self.joint_width, activation="relu", dtype=policy, name="head_hidden"
        )
        self.head_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.head_output = keras.layers.Dense(1, dtype="float32", name="head_output")
        self.rnc_hidden = keras.layers.Dense(
            rnc_dim, activation="relu", dtype=policy, name="rnc_hidden"
        )
        self.rnc_output = keras.layers.Dense(
            rnc_dim, dtype="float32", name="rnc_output"
        )
        self.loss_trackers = {
            weight: keras.metrics.Mean(name=term)
            for weight, term in LOSS_TERMS.items()
            if getattr(self, weight)
        }
        self.build()

    @classmethod
    def for_dataset(cls, data, **kwargs):
        """Creates an SDUMC whose inputs fit a regression `MultimodalDataset`.

        Takes `modality_dims` (with the "pseudo_text" stream when the data has
        one) from `data`; every other argument is passed through.

        Raises:
            ValueError: the dataset is not a regression dataset, or
                `modality_dims` in `kwargs` contradicts it.
        """
        if getattr(data, "task", "regression") != "regression":
            raise ValueError(
                f"SDUMC predicts a continuous sentiment score (its RNC loss ranks "
                f"by label distance); the dataset {getattr(data, 'name', '')!r} has "
                f"task={data.task!r}. Use keras_umdf.UMDF for classification."
            )
        dims = dict(data.modality_dims)
        if "modality_dims" in kwargs and dict(kwargs["modality_dims"]) != dims:
            raise ValueError(
                f"modality_dims={kwargs['modality_dims']!r} contradicts the dataset "
                f"{getattr(data, 'name', '')!r}, which has {dims!r}; leave it out to "
                "take it from the dataset."
            )
        kwargs["modality_dims"] = dims
        return cls(**kwargs)

    # ------------------------------------------------------------------ build

    def build(self, input_shape=None):
        if self.built:
            return
        d = self.hidden_dim
        for m, width in self.modality_dims.items():
            self.projections[m].build((None, None, width))
        others = [(None, None, d) for m in self.streams if m != "text"]
        self.imagination.build(
            others, (None, None, d) if self.has_pseudo_text else None
        )
        self.positional_embedding.build((None, None, d))
        shapes = {m: (None, None, d) for m in self.streams}
        for layer in self.mcim_layers:
            layer.build(shapes)
        for layer in self.joint_encoder:
            layer.build((None, None, self.joint_width))
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
        if not isinstance(view, dict):
            raise ValueError(
                "SDUMC expects a dict keyed by stream "
                f"{list(self.modality_dims)}; received {type(view).__name__}."
            )
        names = set(self.modality_dims)
        required = [m for m in self.streams if m not in view]
        unknown = [
            k
            for k in view
            if k not in names
            and not (k.endswith("_mask") and k[: -len("_mask")] in names)
        ]
        if required or unknown:
            hint = (
                " This model has no pseudo text; build it with modality_dims "
                "including 'pseudo_text' to use one."
                if PSEUDO_TEXT in unknown
                else ""
            )
            raise ValueError(
                f"inputs have keys {sorted(view)}; the model was built for the "
                f"streams {list(self.modality_dims)} (plus optional "
                f"'<stream>_mask'). Missing: {required}; unknown: {unknown}. Pass a "
                f"zero array for an absent modality.{hint}"
            )
        for m in self.modality_dims:
            if m not in view:
                continue
            shape = tuple(view[m].shape)
            if len(shape) != 3 or shape[-1] != self.modality_dims[m]:
                raise ValueError(
                    f"inputs: {m} features have shape {shape} but the model was "
                    f"built for (batch, time, {self.modality_dims[m]}); pass "
                    f"features of width {self.modality_dims[m]} or a model with "
                    f"modality_dims[{m!r}]={shape[-1] if shape else None}."
                )

    def _flows(self, view, training=None):
        """Both flows through the shared network, as one batch of 2B."""
        projected = {
            m: self.projections[m](view[m]) for m in self.modality_dims if m in view
        }
        text = projected["text"]
        length = text.shape[1]
        sources = [
            _match_length(projected[m], length) for m in self.streams if m != "text"
        ]
        pseudo = None
        if self.has_pseudo_text:
            pseudo = projected.get(PSEUDO_TEXT)
            pseudo = (
                ops.zeros_like(text)
                if pseudo is None
                else _match_length(pseudo, length)
            )
        imagined = self.imagination(sources, residual=pseudo, training=training)
        slots = {"text": ops.concatenate([text, imagined], axis=0)}
        for m in self.streams:
            if m != "text":
                slots[m] = ops.concatenate([projected[m], projected[m]], axis=0)
        z = {m: self.positional_embedding(slots[m]) for m in self.streams}
        for layer in self.mcim_layers:
            z = layer(z, training=training)
        target = self.joint_length or z["text"].shape[1]
        h = ops.concatenate(
            [_match_length(z[m], target) for m in self.streams], axis=-1
        )
        for layer in self.joint_encoder:
            h = layer(h, training=training)
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

    def compile(self, optimizer="auto", loss=None, **kwargs):
        """Configures training; the loss is the model's own SDUMC objective.

        The default optimizer, "auto", is Adam at 1e-3 warmed up over the
        first 100 updates, as for UMDF (`keras_umdf.optimizers.adam`).

        Creates the optimizer's variables now (a built model), in the
        active strategy's or distribution's scope, so that TensorFlow traces
        the first training step once rather than twice. On TensorFlow a
        `keras.optimizers.Adam` updates each variable with one op, as in
        `UMDF.compile`.

        Raises:
            ValueError: a `loss` is given (the terms and weights are constructor
                arguments: `task_loss` and the `lambda_*`).
        """
        if loss is not None:
            raise ValueError(
                f"SDUMC computes its own objective; received loss={loss!r}. Choose "
                "the task loss with SDUMC(task_loss=...) and the weights of the "
                "terms with the lambda_* arguments."
            )
        super().compile(optimizer=resolve_optimizer(optimizer), **kwargs)
        prepare_optimizer(self)

    def compile_from_config(self, config):
        """Recompiles a loaded model (Keras skips this for a custom `compile`)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def compute_task_loss(self, y, prediction, sample_weight=None):
        """MSE or L1 between (batch, 1) predictions and the scores, in float32."""
        y = ops.reshape(ops.cast(y, "float32"), (-1, 1))
        error = ops.cast(prediction, "float32") - y
        per_sample = (ops.square(error) if self.task_loss == "mse" else ops.abs(error))[
            :, 0
        ]
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            return ops.sum(per_sample * weight) / ops.maximum(ops.sum(weight), 1e-12)
        return ops.mean(per_sample)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if not isinstance(y_pred, dict):
            total = self.compute_task_loss(y, y_pred, sample_weight)
        else:
            terms = {}
            if self.lambda_full:
                terms["lambda_full"] = self.compute_task_loss(
                    y, y_pred["prediction_full"], sample_weight
                )
            if self.lambda_missing:
                terms["lambda_missing"] = self.compute_task_loss(
                    y, y_pred["prediction_missing"], sample_weight
                )
            if self.lambda_mia:
                terms["lambda_mia"] = _rmse(
                    y_pred["text_imagined"], ops.stop_gradient(y_pred["text_real"])
                )
            if self.lambda_interaction:
                terms["lambda_interaction"] = _rmse(
                    y_pred["interaction_missing"],
                    ops.stop_gradient(y_pred["interaction_full"]),
                )
            if self.lambda_fused:
                terms["lambda_fused"] = _rmse(
                    y_pred["fused_missing"], y_pred["fused_full"]
                )
            if self.lambda_rnc:
                # Samples of weight 0 (e.g. padding) take no part in the ranking.
                mask = None
                if sample_weight is not None:
                    mask = ops.reshape(ops.cast(sample_weight, "float32"), (-1,)) > 0
                terms["lambda_rnc"] = rank_n_contrast(
                    ops.stack([y_pred["rnc_full"], y_pred["rnc_missing"]], axis=1),
                    ops.reshape(ops.cast(y, "float32"), (-1,)),
                    temperature=self.rnc_temperature,
                    similarity=self.rnc_similarity,
                    mask=mask,
                )
            total = 0.0
            for weight, value in terms.items():
                self.loss_trackers[weight].update_state(value)
                total = total + getattr(self, weight) * value
        for loss in self.losses:
            total = total + ops.cast(ops.sum(loss), "float32")
        # A per-replica mean; under tf.distribute the replicas' gradients are summed.
        return scale_loss_for_replicas(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        training_flows = isinstance(y_pred, dict)
        prediction = y_pred["prediction_full"] if training_flows else y_pred
        logs = super().compute_metrics(x, y, prediction, sample_weight)
        if not training_flows:
            # Evaluation batches run one routed prediction: no flow terms.
            for term in LOSS_TERMS.values():
                logs.pop(term, None)
        return logs

    # ------------------------------------------------------------ serialization

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
                "attention": self.attention,
                "joint_length": self.joint_length,
            }
        )
        return config


def _rmse(a, b):
    """sqrt(mean squared difference) in float32, with a finite gradient at 0."""
    squared = ops.mean(ops.square(ops.cast(a, "float32") - ops.cast(b, "float32")))
    return ops.sqrt(ops.maximum(squared, 1e-12))


def _match_length(x, length):
    """Linearly resamples (batch, T, d) to (batch, length, d) along time when the
    lengths differ (unaligned streams)."""
    source = x.shape[1]
    if source is None or length is None or source == length:
        return x
    weights = interpolation_matrix(source, length)
    return ops.einsum("ts,bsd->btd", ops.cast(weights, x.dtype), x)


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
