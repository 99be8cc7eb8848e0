"""The UMDF model: two-view self-distillation over a shared MCIM/DFIM network."""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.argument_validation import check_int
from keras_umdf.distribution import scale_loss_for_replicas
from keras_umdf.layers import DynamicFeatureIntegration
from keras_umdf.layers import FeatureNormalization
from keras_umdf.layers import ModalityImagination
from keras_umdf.layers import ModalityProjection
from keras_umdf.layers import MultiGrainedCrossmodalInteraction
from keras_umdf.layers import PositionalEmbedding
from keras_umdf.layers import TransformerEncoder
from keras_umdf.losses import jensen_shannon_divergence
from keras_umdf.losses import maximum_mean_discrepancy
from keras_umdf.losses import rank_n_contrast
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import check_loss_weight
from keras_umdf.models.arguments import check_temperature
from keras_umdf.models.arguments import validate_modality_dims
from keras_umdf.models.compiling import prepare_optimizer
from keras_umdf.models.compiling import resolve_optimizer
from keras_umdf.models.readout import READOUTS
from keras_umdf.models.readout import frame_presence
from keras_umdf.models.readout import gather_frames
from keras_umdf.models.readout import readout_index
from keras_umdf.models.time_resampling import interpolation_matrix

TASKS = ("regression", "classification")
TASK_LOSSES = {"regression": ("mse", "l1"), "classification": ("crossentropy",)}
LOGITS_LOSSES = ("mse", "js")
MASK_MODES = ("zero_fill", "masked")
VIEW_KEYS = ("view_a", "view_b")
RNC_SIMILARITIES = ("l2", "cosine")
IGNORED_STREAMS = (PSEUDO_TEXT, f"{PSEUDO_TEXT}_mask")
"""Keys a view may hold that UMDF has no input for (SDUMC's pseudo text): accepted
and ignored, so one dataset feeds both models."""


@keras_umdf_export
class UMDF(keras.Model):
    """UMDF: unified self-distillation for sentiment with missing modalities.

    Li et al., AAAI 2024. One shared network encodes two differently incomplete
    views of each training sample; a self-distillation loss pulls their joint
    representations together, and the Dynamic Feature Integration Module (DFIM)
    fuses them for the prediction:

    1. Per modality m: `ModalityProjection` (Conv1D, kernel 3) to width `hidden_dim`,
       plus a sinusoidal `PositionalEmbedding` -> Z_m.
    2. `num_layers` Multi-Grained Crossmodal Interaction (MCIM) layers (Eqs. 8-9).
    3. Joint representation: [Z_L^h, Z_A^h, Z_V^h] concatenated on the feature axis
       -> `TransformerEncoder` -> H_k (T, 3 * hidden_dim) for view k in {a, b}.
    4. DFIM (Eqs. 10-11) fuses H_a and H_b into H_e -> `TransformerEncoder` -> H-bar;
       the prediction head (Dense, ReLU, Dense) reads its last frame.
    5. `f_y`, one Dense layer, maps the last frames h_a, h_b to logits for the
       logits distillation.

    Training objective (computed by `compute_loss`, which the Keras training steps
    of all three backends call; a `compute_loss` override rather than a custom
    `train_step` keeps one implementation of the objective and leaves Keras in
    charge of gradients, loss scaling, distribution and `jit_compile` on every
    backend):

        L = L_task + lambda_fea * MMD(h_a, h_b)
                   + lambda_logits * D(f_y(h_a), f_y(h_b))

    with D the MSE (regression, Eq. 6) or the Jensen-Shannon divergence
    (classification, Eq. 5). No stop-gradient: knowledge flows both ways. The
    terms are reported in the `fit` history (and so in TensorBoard) as
    `task_loss`, `fea_loss` and `logits_loss`; a term whose lambda is 0 is not
    computed and not reported, which gives the paper's ablations and, with both
    at 0, plain training of the same architecture.

    Two optional terms beyond the paper, borrowed from SDUMC and off by default
    (so the default model and its objective are the paper's), let you ask
    whether they help UMDF:

    - `lambda_rnc > 0` adds `lambda_rnc * RNC([h_a; h_b], [y; y])`, the
      Rank-N-Contrast loss (`keras_umdf.losses.rank_n_contrast`) over the 2B
      joint representations of both views, each with its clip's score, so that
      the representations are ordered like the sentiment (regression only);
      reported as `rnc_loss`.
    - `imagine_missing=True` adds one Modality Imagination Autoencoder
      (`keras_umdf.layers.ModalityImagination`) per modality after the
      projections: wherever a modality's frame is absent, its representation is
      imagined from the other modalities' present frames (absent ones enter as
      zeros) instead of being the projection of a zero vector; where it is
      present, the MIA is trained to reconstruct it (mean squared error against
      the real projection, stop-gradient on it), and
      `lambda_mia * mean over modalities` of that error is added, reported as
      `mia_loss`. A frame is absent where its "<modality>_mask" entry is 0, or,
      without a mask, where all its features are 0. With `mask_mode="masked"`
      a frame then counts as present where any modality is.

    Input contract:

    - One view (evaluation, prediction, or plain training): a dict with one
      float array (batch, T_m, d_m) per modality of `modality_dims`, keyed
      "text", "audio", "vision"; missing modalities and frames are zero vectors.
      Optional "<modality>_mask" entries (batch, T_m), 1 where a frame is present,
      mark frames absent for the readout, the input normalisation and
      `mask_mode="masked"` (there a frame is present where its mask is 1 and a
      feature is nonzero, so zero padding is never read) and for
      `imagine_missing`. A "pseudo_text" entry (and "pseudo_text_mask"), SDUMC's extra
      stream, is accepted and ignored: UMDF has no pseudo-text input, so under
      the "text_missing" condition it sees audio and vision. As in the paper,
      one view is copied into both streams (at inference the shared encoder runs
      once, since both streams are identical).
    - Two views (the dual-view training batches of `keras_umdf.data`):
      `{"view_a": view, "view_b": view}`. Then `call` returns a dict with
      "prediction", "h_a", "h_b", "logits_a" and "logits_b"; with one view it
      returns the prediction alone.
    - Targets: regression (batch, 1) or (batch,) scores; classification (batch,)
      class indices; multi-label classification (batch, num_classes) 0/1 flags.

    Outputs: regression (batch, 1) scores; classification (batch, num_classes)
    logits; multi-label (batch, num_classes, 2) logits (absent, present) per label,
    as MulT's IEMOCAP labels. Always float32, whatever the dtype policy.

    Args:
        modality_dims: feature width of each modality, e.g.
            `{"text": 300, "audio": 74, "vision": 35}` (2 or 3 of the modalities
            "text", "audio", "vision").
        task: "regression" (MOSI/MOSEI sentiment) or "classification".
        num_classes: number of classes (classification) or of labels
            (multi-label, e.g. 4 for IEMOCAP).
        multi_label: whether each of the `num_classes` labels is a separate
            absent/present decision (IEMOCAP's form).
        hidden_dim: common feature size d (paper: 40).
        num_heads: attention heads in MCIM (paper: 10 MOSI/IEMOCAP, 8 MOSEI).
        num_layers: number of stacked MCIM layers D (paper: 4).
        encoder_heads: heads of the two transformer encoders; default
            `num_heads` (assumed; design decision 7, docs/design-decisions.md).
        encoder_layers: depth of each transformer encoder (assumed: 1).
        intermediate_dim: FFN width; default 4 * hidden_dim in MCIM and
            4 * (joint width) in the encoders (assumed).
        dropout: dropout in attention and FFNs (assumed: 0.1; the paper is silent).
        lambda_fea: weight lambda_1 of the feature distillation (assumed 1.0;
            design decision 3, docs/design-decisions.md). Saved with the model.
        lambda_logits: weight lambda_2 of the logits distillation (assumed 1.0).
        distillation_warmup: training steps over which the distillation
            weights rise linearly from 0 to `lambda_fea` / `lambda_logits`
            (and `lambda_rnc`): the i-th two-view step (from 0) uses
            `min(1, i / distillation_warmup)` of each weight. The count is the
            model's non-trainable `distillation_step` variable, saved with
            the weights (None when no distillation weight is above 0).
            Default 0: full weights from the first step, the paper's
            objective. An extension (the ramp-up of consistency losses in
            semi-supervised learning): in short runs the untrained `f_y` can
            pull the two views together before the task has shaped them, and
            the network then predicts the mean label (README, the demo).
        task_loss: "mse" (paper) or "l1" (MMSA's) for regression;
            "crossentropy" for classification. Default by task.
        logits_loss: "mse" or "js"; default "mse" for regression, "js" for
            classification (the paper's choice).
        supervise_logits: also train `f_y` on the labels: L_task gains the
            mean task loss of f_y(h_a) and f_y(h_b) (reported as
            `logits_task_loss`), so that the distilled logits are each view's
            prediction of the label, the "soft labels" of the paper's text.
            Default True, decided on real CMU-MOSI features (design decision
            9, docs/design-decisions.md): the objective as the paper writes
            it (False) trains `f_y` by L_logits alone, and on real features
            that untrained projection pulled the views together until the
            network predicted the mean.
        attention: "crossmodal" (paper) or "self" (Table 3 ablation: every
            crossmodal attention in MCIM replaced by self-attention).
        fusion: "dynamic" (DFIM, paper) or "concat" (Table 3 ablation).
        mask_mode: "zero_fill" (paper: attend over zero vectors) or "masked"
            (attention ignores absent frames: those whose mask is 0 and the
            all-zero ones, such as padding; design decision 5,
            docs/design-decisions.md).
        joint_length: sequence length of the joint representation when the
            modalities have different lengths (unaligned data; design
            decision 6, docs/design-decisions.md): each modality is linearly
            resampled to it. Default:
            the text length. Aligned data is used as is.
        mmd_kernel_num: number of Gaussian kernels in the MMD (decision 2).
        mmd_kernel_mul: bandwidth ratio between neighbouring kernels.
        lambda_rnc: weight of the Rank-N-Contrast loss on the two views' joint
            representations (default 0: off, the paper's objective;
            regression only). SDUMC uses 0.5.
        rnc_temperature: tau of the RNC loss (SDUMC: 2.0).
        rnc_similarity: "l2" (negative Euclidean distance, SDUMC) or "cosine".
        imagine_missing: fill absent modalities' representations with a
            Modality Imagination Autoencoder per modality (default False: off,
            the paper's zero-filling).
        lambda_mia: weight of the MIA reconstruction loss; only with
            `imagine_missing=True` (default then 0.1, SDUMC's weight).
        normalize_inputs: standardise each modality per dimension before its
            projection (a `FeatureNormalization` layer per modality, fitted with
            `adapt` on the training split's present frames; absent frames stay
            zero). The statistics are saved with the model. Default False (the
            paper's network); `for_dataset(data, normalize_inputs=True)` fits
            them on `data["train"]`, and the commands turn it on (design
            decision 11, docs/design-decisions.md).
        readout: where the joint representation of a clip is read for `h_a`,
            `h_b` and the prediction: "last_present" (default: the clip's last
            frame where any modality is present, whichever side the padding is
            on) or "last" (position T - 1, the paper's "last element" read
            literally; the same for front-padded data; design decision 12).

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
        lambda_rnc: float = 0.0,
        rnc_temperature: float = 2.0,
        rnc_similarity: str = "l2",
        imagine_missing: bool = False,
        lambda_mia: float | None = None,
        normalize_inputs: bool = False,
        readout: str = "last_present",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if modality_dims is None:
            modality_dims = {"text": 300, "audio": 74, "vision": 35}
        self.modality_dims = _validate_modality_dims(modality_dims)
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}; received task={task!r}.")
        self.task = task
        if task == "classification":
            num_classes = check_int(
                "num_classes (the number of classes for task='classification', or "
                "of labels with multi_label=True)",
                num_classes,
                minimum=2,
            )
        elif multi_label:
            raise ValueError("multi_label=True needs task='classification'.")
        self.num_classes = num_classes
        self.multi_label = bool(multi_label)
        hidden_dim = check_int("hidden_dim", hidden_dim)
        num_heads = check_int("num_heads", num_heads)
        num_layers = check_int("num_layers", num_layers)
        encoder_layers = check_int("encoder_layers", encoder_layers)
        mmd_kernel_num = check_int("mmd_kernel_num", mmd_kernel_num)
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}; "
                "choose hidden_dim as a multiple of num_heads (paper: 40 and 10)."
            )
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.encoder_heads = check_int(
            "encoder_heads", num_heads if encoder_heads is None else encoder_heads
        )
        joint_width = hidden_dim * len(self.modality_dims)
        if joint_width % self.encoder_heads:
            raise ValueError(
                f"The joint width {joint_width} ({len(self.modality_dims)} modalities "
                f"x hidden_dim {hidden_dim}) is not divisible by encoder_heads="
                f"{self.encoder_heads}; pass encoder_heads that divides it."
            )
        self.encoder_layers = encoder_layers
        self.intermediate_dim = check_int(
            "intermediate_dim", intermediate_dim, none_means="4 x the layer's width"
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
        self.dropout = dropout
        self.lambda_fea = check_loss_weight("lambda_fea", lambda_fea)
        self.lambda_logits = check_loss_weight("lambda_logits", lambda_logits)
        self.distillation_warmup = check_int(
            "distillation_warmup", distillation_warmup, minimum=0
        )
        self.task_loss = task_loss or TASK_LOSSES[task][0]
        if self.task_loss not in TASK_LOSSES[task]:
            raise ValueError(
                f"task_loss={task_loss!r} does not fit task={task!r}; use one of "
                f"{TASK_LOSSES[task]}."
            )
        self.logits_loss = logits_loss or ("mse" if task == "regression" else "js")
        check_choice("logits_loss", self.logits_loss, LOGITS_LOSSES)
        check_choice("attention", attention, ("crossmodal", "self"))
        check_choice("fusion", fusion, ("dynamic", "concat"))
        check_choice("mask_mode", mask_mode, MASK_MODES)
        self.attention = attention
        self.fusion = fusion
        self.mask_mode = mask_mode
        self.joint_length = check_int(
            "joint_length", joint_length, none_means="the text's length"
        )
        self.mmd_kernel_num = mmd_kernel_num
        self.mmd_kernel_mul = float(mmd_kernel_mul)
        self.lambda_rnc = check_loss_weight("lambda_rnc", lambda_rnc)
        if self.lambda_rnc and task != "regression":
            raise ValueError(
                f"lambda_rnc={lambda_rnc!r}: the Rank-N-Contrast loss ranks clips by "
                f"the distance of their scores and needs task='regression'; "
                f"received task={task!r}. Leave lambda_rnc at 0."
            )
        self.rnc_temperature = check_temperature("rnc_temperature", rnc_temperature)
        check_choice("rnc_similarity", rnc_similarity, RNC_SIMILARITIES)
        self.rnc_similarity = rnc_similarity
        if not isinstance(imagine_missing, (bool, np.bool_)):
            raise ValueError(
                f"imagine_missing must be True or False; received {imagine_missing!r}."
            )
        self.imagine_missing = bool(imagine_missing)
        if not isinstance(supervise_logits, (bool, np.bool_)):
            raise ValueError(
                "supervise_logits must be True or False; received "
                f"{supervise_logits!r}."
            )
        self.supervise_logits = bool(supervise_logits)
        if not isinstance(normalize_inputs, (bool, np.bool_)):
            raise ValueError(
                "normalize_inputs must be True or False; received "
                f"{normalize_inputs!r}."
            )
        self.normalize_inputs = bool(normalize_inputs)
        check_choice("readout", readout, READOUTS)
        self.readout = readout
        if lambda_mia is None:
            lambda_mia = 0.1 if self.imagine_missing else 0.0
        self.lambda_mia = check_loss_weight("lambda_mia", lambda_mia)
        if self.lambda_mia and not self.imagine_missing:
            raise ValueError(
                f"lambda_mia={lambda_mia!r} weighs the reconstruction loss of the "
                "modality imagination, which is off; pass imagine_missing=True too "
                "(or leave lambda_mia out)."
            )

        self.modalities = tuple(self.modality_dims)
        self.joint_width = joint_width
        if self.task == "regression":
            self._output_units = 1
        elif self.multi_label:
            self._output_units = 2 * num_classes
        else:
            self._output_units = num_classes

        self.distillation_step = None
        if self.distillation_warmup and (
            self.lambda_fea or self.lambda_logits or self.lambda_rnc
        ):
            self.distillation_step = self.add_weight(
                shape=(),
                initializer="zeros",
                dtype="float32",
                trainable=False,
                autocast=False,
                aggregation="only_first_replica",
                name="distillation_step",
            )
        policy = self.dtype_policy
        self.normalizations = (
            {
                m: FeatureNormalization(dtype=policy, name=f"{m}_normalization")
                for m in self.modalities
            }
            if self.normalize_inputs
            else {}
        )
        self.projections = {
            m: ModalityProjection(hidden_dim, dtype=policy, name=f"{m}_projection")
            for m in self.modalities
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
            for i in range(encoder_layers)
        ]
        self.integration = DynamicFeatureIntegration(
            fusion=fusion, dtype=policy, name="dfim"
        )
        self.final_encoder = [
            TransformerEncoder(
                self.encoder_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                dtype=policy,
                name=f"final_encoder_{i}",
            )
            for i in range(encoder_layers)
        ]
        self.head_hidden = keras.layers.Dense(
            joint_width, activation="relu", dtype=policy, name="head_hidden"
        )
        self.head_dropout = keras.layers.Dropout(dropout, dtype=policy)
        self.head_output = keras.layers.Dense(
            self._output_units, dtype="float32", name="head_output"
        )
        self.logits_head = keras.layers.Dense(
            self._output_units, dtype="float32", name="f_y"
        )
        self.imaginations = (
            {
                m: ModalityImagination(
                    hidden_dim, dropout=dropout, dtype=policy, name=f"{m}_imagination"
                )
                for m in self.modalities
            }
            if self.imagine_missing
            else {}
        )
        self._build_loss_trackers()
        # Every shape is known from the configuration: build now, so that
        # `load_weights`, `summary` and `count_params` work before a first call.
        self.build()

    @classmethod
    def for_dataset(cls, data, **kwargs):
        """Creates a UMDF whose inputs and outputs fit a `MultimodalDataset`.

        Fills in `modality_dims` (without a "pseudo_text" stream, which UMDF
        has no input for), `task`, `num_classes` and `multi_label` from `data`;
        every other argument is passed through.

        Raises:
            ValueError: an argument in `kwargs` contradicts the dataset.

        Example:

        ```python
        data = keras_umdf.data.synthetic("iemocap", scale=0.05)
        model = keras_umdf.UMDF.for_dataset(data, num_heads=10)  # 4 labels
        ```
        """
        derived = {
            # A pseudo-text stream (for SDUMC) has no UMDF input: left out.
            "modality_dims": {
                m: d for m, d in data.modality_dims.items() if m != PSEUDO_TEXT
            },
            "task": data.task,
            "num_classes": data.num_classes if data.task == "classification" else None,
            "multi_label": bool(data.multi_label),
        }
        for key, value in derived.items():
            if key in kwargs and kwargs[key] != value:
                raise ValueError(
                    f"{key}={kwargs[key]!r} contradicts the dataset "
                    f"{getattr(data, 'name', '')!r}, which has {key}={value!r}; "
                    f"leave {key} out to take it from the dataset."
                )
        model = cls(**{**derived, **kwargs})
        if model.normalize_inputs and "train" in data.splits:
            model.adapt(data["train"])
        return model

    def adapt(self, split) -> None:
        """Fits the input normalisation (`normalize_inputs=True`) on training data.

        Each modality's `FeatureNormalization` learns the per-dimension mean and
        standard deviation of the present frames: frames with a nonzero feature,
        within the split's `lengths` where it has them. The statistics are
        weights of the model, saved in its `.keras` file, so that `predict` on
        raw features gives the same answer after loading.

        Args:
            split: a `keras_umdf.data.Split` (e.g. `data["train"]`) or a dict
                of modality -> (N, T_m, d_m) arrays.

        Raises:
            ValueError: the model was built with `normalize_inputs=False`, or a
                modality is missing from `split`. A modality whose every
                training frame is zero keeps the identity, with a warning.
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
            # Checked before any statistics change: a refused call fits nothing.
            raise ValueError(
                f"adapt() needs every modality of the model {list(self.modalities)};"
                f" received {sorted(features)} (missing {missing})."
            )
        for m in self.modalities:
            if not np.any(features[m]):
                # A modality absent from the whole training split (e.g. a file
                # without vision features) has nothing to fit: it stays zero.
                warnings.warn(
                    f"adapt(): every {m} frame of the training data is zero; the "
                    f"{m} normalisation stays the identity.",
                    stacklevel=2,
                )
                continue
            self.normalizations[m].adapt(features[m], lengths=lengths.get(m))

    # ------------------------------------------------------------------ build

    def build(self, input_shape=None):
        if self.built:
            return
        d = self.hidden_dim
        for m, width in self.modality_dims.items():
            self.projections[m].build((None, None, width))
            if m in self.normalizations:
                self.normalizations[m].build((None, None, width))
        self.positional_embedding.build((None, None, d))
        shapes = {m: (None, None, d) for m in self.modalities}
        for layer in self.mcim_layers:
            layer.build(shapes)
        joint_shape = (None, None, self.joint_width)
        for layer in self.joint_encoder + self.final_encoder:
            layer.build(joint_shape)
        self.integration.build([joint_shape, joint_shape])
        self.head_hidden.build((None, self.joint_width))
        self.head_output.build((None, self.joint_width))
        self.logits_head.build((None, self.joint_width))
        for layer in self.imaginations.values():
            layer.build([(None, None, d)] * (len(self.modalities) - 1))
        self.built = True

    def _build_loss_trackers(self):
        self.task_loss_tracker = keras.metrics.Mean(name="task_loss")
        self.fea_loss_tracker = (
            keras.metrics.Mean(name="fea_loss") if self.lambda_fea else None
        )
        self.logits_loss_tracker = (
            keras.metrics.Mean(name="logits_loss") if self.lambda_logits else None
        )
        self.rnc_loss_tracker = (
            keras.metrics.Mean(name="rnc_loss") if self.lambda_rnc else None
        )
        self.logits_task_loss_tracker = (
            keras.metrics.Mean(name="logits_task_loss")
            if self.supervise_logits
            else None
        )
        self.mia_loss_tracker = (
            keras.metrics.Mean(name="mia_loss") if self.imagine_missing else None
        )

    # ---------------------------------------------------------------- forward

    def _check_view(self, view, where: str) -> None:
        if not isinstance(view, dict):
            raise ValueError(
                f"UMDF expects {where} as a dict keyed by modality "
                f"{list(self.modalities)}; received {type(view).__name__}."
            )
        missing = [m for m in self.modalities if m not in view]
        unknown = [
            k
            for k in view
            if k not in self.modalities
            and k not in IGNORED_STREAMS
            and not (k.endswith("_mask") and k[: -len("_mask")] in self.modalities)
        ]
        if missing or unknown:
            raise ValueError(
                f"{where} has keys {sorted(view)}; the model was built for "
                f"modalities {list(self.modalities)} (plus optional '<modality>_mask'"
                " and an ignored 'pseudo_text')."
                f" Missing: {missing}; unknown: {unknown}. Pass a zero array for an "
                "absent modality."
            )
        for m in self.modalities:
            shape = tuple(view[m].shape)
            if len(shape) != 3 or shape[-1] != self.modality_dims[m]:
                raise ValueError(
                    f"{where}: {m} features have shape {shape} but the model was "
                    f"built for (batch, time, {self.modality_dims[m]}); pass "
                    f"features of width {self.modality_dims[m]} or a model with "
                    f"modality_dims[{m!r}]={shape[-1] if shape else None}."
                )

    def encode(self, view, training=None):
        """Encodes one view into the joint representation H (batch, T, 3d)."""
        return self._encode(view, training=training)[0]

    def _encode(self, view, training=None):
        """H, the MIA reconstruction loss (None without `imagine_missing`), and
        the bool (batch, T) frames of H where any modality is present."""
        presence = {
            m: frame_presence(view[m], view.get(f"{m}_mask")) for m in self.modalities
        }
        if self.normalizations:
            view = {
                **view,
                **{
                    m: self.normalizations[m](view[m], mask=presence[m])
                    for m in self.modalities
                },
            }
        # Masked attention skips every absent frame: those the view's mask
        # drops and the all-zero ones (padding, a modality the file lacks).
        masks = dict(presence) if self.mask_mode == "masked" else None
        projected = {m: self.projections[m](view[m]) for m in self.modalities}
        mia_loss = None
        if self.imagine_missing:
            projected, mia_loss = self._imagine(view, projected, training)
            if masks is not None:
                present = [self._presence(view, m) for m in self.modalities]
                union = present[0]
                for other in present[1:]:
                    if other.shape[1] == union.shape[1]:
                        union = ops.logical_or(union, other)
                masks = {
                    m: union if masks[m].shape[1] == union.shape[1] else masks[m]
                    for m in self.modalities
                }
        z = {m: self.positional_embedding(projected[m]) for m in self.modalities}
        for layer in self.mcim_layers:
            z = layer(z, masks=masks, training=training)
        lengths = [z[m].shape[1] for m in self.modalities]
        target = self.joint_length or lengths[0]
        joint_mask = None
        joint_presence = None
        parts = []
        for m in self.modalities:
            part, mask = z[m], None if masks is None else masks[m]
            present = presence[m]
            if part.shape[1] is not None and part.shape[1] != target:
                present = _resample_mask(present, part.shape[1], target)
                part, mask = _resample(part, mask, target)
            parts.append(part)
            joint_presence = (
                present
                if joint_presence is None
                else ops.logical_or(joint_presence, present)
            )
            if mask is not None:
                joint_mask = (
                    mask if joint_mask is None else ops.logical_or(joint_mask, mask)
                )
        h = ops.concatenate(parts, axis=-1)
        for layer in self.joint_encoder:
            h = layer(h, mask=joint_mask, training=training)
        return h, mia_loss, joint_presence

    def _presence(self, view, modality):
        """Bool (batch, T_m): the frames of a modality that are present."""
        if f"{modality}_mask" in view:
            return ops.cast(view[f"{modality}_mask"], "float32") > 0
        return ops.any(ops.not_equal(view[modality], 0), axis=-1)

    def _imagine(self, view, projected, training):
        """Fills absent frames of each modality with its MIA's imagination from
        the others; returns the filled representations and the mean (over the
        modalities) reconstruction error on the present frames."""
        present = {
            m: ops.cast(self._presence(view, m), projected[m].dtype)[..., None]
            for m in self.modalities
        }
        filled, errors = {}, []
        for m in self.modalities:
            length = projected[m].shape[1]
            sources = []
            for other in self.modalities:
                if other == m:
                    continue
                source = projected[other] * present[other]
                if source.shape[1] != length:
                    source, _ = _resample(source, None, length)
                sources.append(source)
            imagined = self.imaginations[m](sources, training=training)
            filled[m] = present[m] * projected[m] + (1.0 - present[m]) * imagined
            errors.append(
                self.imaginations[m].reconstruction_loss(
                    projected[m], imagined, mask=present[m][..., 0]
                )
            )
        return filled, ops.mean(ops.stack(errors))

    def _head(self, h_a, h_b, index, training=None):
        """The prediction from H_a and H_b, read at frame `index` of H-bar."""
        h = self.integration([h_a, h_b])
        for layer in self.final_encoder:
            h = layer(h, training=training)
        last = gather_frames(h, index)
        hidden = self.head_dropout(self.head_hidden(last), training=training)
        return self._shape_output(self.head_output(hidden))

    def _shape_output(self, logits):
        logits = ops.cast(logits, "float32")
        if self.multi_label:
            return ops.reshape(logits, (-1, self.num_classes, 2))
        return logits

    def call(self, inputs, training=None):
        """Predicts from one view, or runs both views of a training batch.

        Args:
            inputs: one view `{"text": ..., "audio": ..., "vision": ...}` (plus
                optional "<modality>_mask"; a "pseudo_text" entry is accepted
                and ignored), or `{"view_a": view, "view_b": view}`.
            training: whether dropout is active.

        Returns:
            The prediction for one view; for two views a dict with
            "prediction", "h_a", "h_b", "logits_a", "logits_b" (and "mia_loss"
            with `imagine_missing=True`).
        """
        if isinstance(inputs, dict) and set(VIEW_KEYS) <= set(inputs):
            view_a, view_b = inputs["view_a"], inputs["view_b"]
            self._check_view(view_a, "inputs['view_a']")
            self._check_view(view_b, "inputs['view_b']")
            # Both views go through the shared encoder as one batch of 2B.
            both = {
                k: ops.concatenate([view_a[k], view_b[k]], axis=0)
                for k in view_a
                if k in view_b and k not in IGNORED_STREAMS
            }
            h, mia_loss, presence = self._encode(both, training=training)
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
                "logits_a": self._shape_output(self.logits_head(last_a)),
                "logits_b": self._shape_output(self.logits_head(last_b)),
            }
            if mia_loss is not None:
                outputs["mia_loss"] = ops.cast(mia_loss, "float32")
            return outputs
        self._check_view(inputs, "inputs")
        h_a, _, presence = self._encode(inputs, training=training)
        # Without dropout both streams of a cloned sample are identical: encode once.
        h_b = (
            self.encode(inputs, training=training) if training and self.dropout else h_a
        )
        index = readout_index(presence, self.readout)
        return self._head(h_a, h_b, index, training=training)

    # ------------------------------------------------------------- objective

    def compile(self, optimizer="auto", loss=None, **kwargs):
        """Configures training; the loss is the model's own UMDF objective.

        The default optimizer, "auto", is the paper's Adam at 1e-3 with its
        step size warmed up over the first 100 updates
        (`keras_umdf.optimizers.adam`; without the warm-up the network settles
        on a near-constant prediction, design decision 13,
        docs/design-decisions.md). Any Keras optimizer or name may be given.

        Creates the optimizer's variables now (a built model), in the
        active strategy's or distribution's scope, so that TensorFlow traces
        the first training step once rather than twice. On TensorFlow a
        `keras.optimizers.Adam` then updates each variable with one op
        (`keras_umdf.models.fused_adam`: the same update, a trace half as
        long); the optimizer object, its config and saved files are Keras's.

        Raises:
            ValueError: a `loss` is given. The task loss is the constructor's
                `task_loss`, and the distillation terms are weighted by
                `lambda_fea` and `lambda_logits`.
        """
        if loss is not None:
            raise ValueError(
                f"UMDF computes its own objective; received loss={loss!r}. Choose the "
                "task loss with UMDF(task_loss=...) and the distillation weights with "
                "lambda_fea / lambda_logits."
            )
        super().compile(optimizer=resolve_optimizer(optimizer), **kwargs)
        prepare_optimizer(self)

    def compile_from_config(self, config):
        """Recompiles a loaded model (Keras skips this for a custom `compile`)."""
        self.compile(**keras.saving.deserialize_keras_object(config))

    def compute_task_loss(self, y, prediction, sample_weight=None):
        """L_task: MSE or L1 (regression), cross-entropy (classification)."""
        prediction = ops.cast(prediction, "float32")
        if self.task == "regression":
            y = ops.reshape(ops.cast(y, "float32"), (-1, 1))
            error = prediction - y
            per_sample = (
                ops.square(error) if self.task_loss == "mse" else ops.abs(error)
            )
            per_sample = per_sample[:, 0]
        else:
            y = ops.cast(y, "int32")
            if not self.multi_label:
                y = ops.reshape(y, (-1,))
            per_sample = keras.losses.sparse_categorical_crossentropy(
                y, prediction, from_logits=True
            )
            if self.multi_label:
                per_sample = ops.mean(per_sample, axis=-1)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            return ops.sum(per_sample * weight) / ops.maximum(ops.sum(weight), 1e-12)
        return ops.mean(per_sample)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        distill = isinstance(y_pred, dict)
        prediction = y_pred["prediction"] if distill else y_pred
        task = self.compute_task_loss(y, prediction, sample_weight)
        # Each term's epoch mean weighs batches by their size, as Keras's own
        # `loss` does, so that the logged parts add up to the logged total.
        batch = ops.cast(ops.shape(prediction)[0], "float32")
        self.task_loss_tracker.update_state(task, sample_weight=batch)
        total = task
        ramp = self._distillation_ramp() if distill else 1.0
        if distill and self.supervise_logits:
            logits_task = 0.5 * (
                self.compute_task_loss(y, y_pred["logits_a"], sample_weight)
                + self.compute_task_loss(y, y_pred["logits_b"], sample_weight)
            )
            self.logits_task_loss_tracker.update_state(logits_task, sample_weight=batch)
            total = total + logits_task
        if distill and self.lambda_fea:
            fea = maximum_mean_discrepancy(
                y_pred["h_a"],
                y_pred["h_b"],
                kernel_num=self.mmd_kernel_num,
                kernel_mul=self.mmd_kernel_mul,
            )
            self.fea_loss_tracker.update_state(fea, sample_weight=batch)
            total = total + ramp * self.lambda_fea * fea
        if distill and self.lambda_logits:
            if self.logits_loss == "mse":
                logits = ops.mean(ops.square(y_pred["logits_a"] - y_pred["logits_b"]))
            else:
                logits = jensen_shannon_divergence(
                    y_pred["logits_a"], y_pred["logits_b"]
                )
            self.logits_loss_tracker.update_state(logits, sample_weight=batch)
            total = total + ramp * self.lambda_logits * logits
        if distill and self.lambda_rnc:
            # Samples of weight 0 (e.g. padding) take no part in the ranking.
            mask = None
            if sample_weight is not None:
                mask = ops.reshape(ops.cast(sample_weight, "float32"), (-1,)) > 0
            rnc = rank_n_contrast(
                ops.stack([y_pred["h_a"], y_pred["h_b"]], axis=1),
                ops.reshape(ops.cast(y, "float32"), (-1,)),
                temperature=self.rnc_temperature,
                similarity=self.rnc_similarity,
                mask=mask,
            )
            self.rnc_loss_tracker.update_state(rnc, sample_weight=batch)
            total = total + ramp * self.lambda_rnc * rnc
        if distill and self.imagine_missing:
            mia = y_pred["mia_loss"]
            self.mia_loss_tracker.update_state(mia, sample_weight=batch)
            total = total + self.lambda_mia * mia
        for loss in self.losses:
            total = total + ops.cast(ops.sum(loss), "float32")
        # A per-replica mean; under tf.distribute the replicas' gradients are summed.
        return scale_loss_for_replicas(total)

    def _distillation_ramp(self):
        """The fraction of the distillation weights used at this training step.

        Counts the two-view steps in the model's own `distillation_step`
        variable (saved with the weights, so a resumed run goes on with its
        ramp); the optimizer's counter cannot be read inside JAX's stateless
        step.
        """
        if self.distillation_step is None:
            return 1.0
        warmup = float(self.distillation_warmup)
        step = self.distillation_step.value
        # Both read before the assignment: a TensorFlow graph or a PyTorch
        # tensor read after it would see the incremented count.
        ramp = step / warmup
        following = ops.minimum(step + 1.0, warmup)
        self.distillation_step.assign(following)
        return ramp

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        distill = isinstance(y_pred, dict)
        prediction = y_pred["prediction"] if distill else y_pred
        logs = super().compute_metrics(x, y, prediction, sample_weight)
        if not distill:
            # One-view batches (evaluation) have no distillation terms to report.
            for name in (
                "fea_loss",
                "logits_loss",
                "logits_task_loss",
                "rnc_loss",
                "mia_loss",
            ):
                logs.pop(name, None)
        return logs

    # ------------------------------------------------------------ serialization

    def load_weights(self, filepath, *args, **kwargs):
        """Loads weights saved by `save_weights` (or a `.keras` file's weights).

        Raises:
            ValueError: the file holds weights of a differently configured model,
                or is not a weights file; the message names the file.
        """
        try:
            super().load_weights(filepath, *args, **kwargs)
        except (ValueError, OSError, KeyError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValueError(
                f"Could not load the weights in {str(filepath)!r} into this UMDF "
                f"({self.count_params()} parameters; modality_dims="
                f"{self.modality_dims}, hidden_dim={self.hidden_dim}, num_layers="
                f"{self.num_layers}, task={self.task!r}): {reason} The file was "
                "probably saved by a model with another configuration; create the "
                "model with the arguments it was saved with, or load the whole "
                "model with keras.saving.load_model('model.keras')."
            ) from error

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "modality_dims": dict(self.modality_dims),
                "task": self.task,
                "num_classes": self.num_classes,
                "multi_label": self.multi_label,
                "hidden_dim": self.hidden_dim,
                "num_heads": self.num_heads,
                "num_layers": self.num_layers,
                "encoder_heads": self.encoder_heads,
                "encoder_layers": self.encoder_layers,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "lambda_fea": self.lambda_fea,
                "lambda_logits": self.lambda_logits,
                "distillation_warmup": self.distillation_warmup,
                "task_loss": self.task_loss,
                "logits_loss": self.logits_loss,
                "supervise_logits": self.supervise_logits,
                "attention": self.attention,
                "fusion": self.fusion,
                "mask_mode": self.mask_mode,
                "joint_length": self.joint_length,
                "mmd_kernel_num": self.mmd_kernel_num,
                "mmd_kernel_mul": self.mmd_kernel_mul,
                "lambda_rnc": self.lambda_rnc,
                "rnc_temperature": self.rnc_temperature,
                "rnc_similarity": self.rnc_similarity,
                "imagine_missing": self.imagine_missing,
                "lambda_mia": self.lambda_mia,
                "normalize_inputs": self.normalize_inputs,
                "readout": self.readout,
            }
        )
        return config


def _resample(x, mask, length: int):
    """Linearly resamples (batch, T, d) to (batch, length, d) along time."""
    source = x.shape[1]
    weights = interpolation_matrix(source, length)
    x = ops.einsum("ts,bsd->btd", ops.cast(weights, x.dtype), x)
    if mask is not None:
        mask = _resample_mask(mask, source, length)
    return x, mask


def _resample_mask(mask, source: int, length: int):
    """A bool (batch, source) frame mask at `length` frames: a frame is set
    where its interpolation draws on a set source frame."""
    weights = interpolation_matrix(source, length)
    return ops.einsum("ts,bs->bt", weights, ops.cast(mask, "float32")) > 0


def _validate_modality_dims(modality_dims) -> dict[str, int]:
    dims = validate_modality_dims(
        modality_dims, MODALITIES, "{'text': 300, 'audio': 74, 'vision': 35}"
    )
    if len(dims) < 2:
        raise ValueError(
            "UMDF fuses at least two modalities; received modality_dims="
            f"{modality_dims!r}."
        )
    return dims
