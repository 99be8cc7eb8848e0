"""UMDF with two of SDUMC's parts: the Rank-N-Contrast term and the modality
imagination."""

from __future__ import annotations

from keras import ops

from keras_umdf.api_export import keras_umdf_export
from keras_umdf.layers import ModalityImagination
from keras_umdf.losses import rank_n_contrast
from keras_umdf.models.arguments import check_bool
from keras_umdf.models.arguments import check_choice
from keras_umdf.models.arguments import check_loss_weight
from keras_umdf.models.arguments import check_temperature
from keras_umdf.models.time_resampling import resample
from keras_umdf.models.umdf import UMDF

RNC_SIMILARITIES = ("l2", "cosine")


@keras_umdf_export
class UMDFWithSDUMCParts(UMDF):
    """UMDF with SDUMC's Rank-N-Contrast loss and modality imagination.

    Lets you ask whether SDUMC's two parts help UMDF; with both off it is
    UMDF. Every UMDF argument is accepted, plus:

    - `lambda_rnc > 0` adds `lambda_rnc * RNC([h_a; h_b], [y; y])`, the
      Rank-N-Contrast loss (`keras_umdf.losses.rank_n_contrast`) over the 2B
      joint representations of both views, each with its clip's score, so
      that they are ordered like the sentiment (regression only); reported as
      `rnc_loss` and ramped by `distillation_warmup` like the distillation.
    - `imagine_missing=True` adds one Modality Imagination Autoencoder
      (`keras_umdf.layers.ModalityImagination`) per modality after the
      projections: wherever a modality's frame is absent, its representation
      is imagined from the other modalities' present frames (absent ones
      enter as zeros) instead of being the projection of a zero vector; where
      it is present, the MIA learns to reconstruct it (mean squared error
      against the real projection), and `lambda_mia` times the mean over the
      modalities of that error is added, reported as `mia_loss`. A frame is
      absent where its "<modality>_mask" entry is 0, or, without a mask,
      where all its features are 0. With `mask_mode="masked"` a frame then
      counts as present where any modality is.

    Args:
        lambda_rnc: weight of the RNC loss (default 0: off). SDUMC uses 0.5.
        rnc_temperature: tau of the RNC loss (SDUMC: 2.0).
        rnc_similarity: "l2" (negative Euclidean distance, SDUMC) or "cosine".
        imagine_missing: fill absent modalities' representations with a MIA
            per modality (default False: the paper's zero-filling).
        lambda_mia: weight of the MIA reconstruction loss; only with
            `imagine_missing=True` (default then 0.1, SDUMC's weight).
        **kwargs: `UMDF`'s arguments.

    Example:

    ```python
    model = keras_umdf.UMDFWithSDUMCParts(
        data.modality_dims, lambda_rnc=0.5, imagine_missing=True
    )
    ```
    """

    TRAINING_TERMS = (*UMDF.TRAINING_TERMS, "rnc_loss", "mia_loss")
    RAMPED_TERMS = (*UMDF.RAMPED_TERMS, "rnc_loss")

    def __init__(
        self,
        modality_dims: dict[str, int] | None = None,
        lambda_rnc: float = 0.0,
        rnc_temperature: float = 2.0,
        rnc_similarity: str = "l2",
        imagine_missing: bool = False,
        lambda_mia: float | None = None,
        **kwargs,
    ):
        task = kwargs.get("task", "regression")
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
        self.imagine_missing = check_bool("imagine_missing", imagine_missing)
        if lambda_mia is None:
            lambda_mia = 0.1 if self.imagine_missing else 0.0
        self.lambda_mia = check_loss_weight("lambda_mia", lambda_mia)
        if self.lambda_mia and not self.imagine_missing:
            raise ValueError(
                f"lambda_mia={lambda_mia!r} weighs the reconstruction loss of the "
                "modality imagination, which is off; pass imagine_missing=True too "
                "(or leave lambda_mia out)."
            )
        # Set before UMDF's constructor, which builds the layers they ask for.
        super().__init__(modality_dims, **kwargs)

    def _distills(self) -> bool:
        return super()._distills() or bool(self.lambda_rnc)

    def _reported_terms(self) -> list[str]:
        terms = super()._reported_terms()
        if self.lambda_rnc:
            terms.append("rnc_loss")
        if self.imagine_missing:
            terms.append("mia_loss")
        return terms

    def _create_layers(self) -> None:
        self.imaginations = (
            {
                m: ModalityImagination(
                    self.hidden_dim,
                    dropout=self.dropout,
                    dtype=self.dtype_policy,
                    name=f"{m}_imagination",
                )
                for m in self.modalities
            }
            if self.imagine_missing
            else {}
        )

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        d = self.hidden_dim
        for layer in self.imaginations.values():
            layer.build([(None, None, d)] * (len(self.modalities) - 1))

    def _encode(self, view, training=None):
        if not self.imagine_missing:
            return super()._encode(view, training=training)
        backbone = self.backbone
        presence = backbone.presence(view)
        masks = backbone.attention_masks(presence)
        projected, mia_loss = self._imagine(
            view, backbone.project(view, presence), training
        )
        if masks is not None:
            # An imagined frame is present wherever any modality is.
            present = [_present(view, m) for m in self.modalities]
            union = present[0]
            for other in present[1:]:
                if other.shape[1] == union.shape[1]:
                    union = ops.logical_or(union, other)
            masks = {
                m: union if masks[m].shape[1] == union.shape[1] else masks[m]
                for m in self.modalities
            }
        z = backbone.interact(projected, masks, training)
        h, joint_presence = backbone.join(z, presence, masks, training=training)
        return h, {"mia_loss": mia_loss}, joint_presence

    def _imagine(self, view, projected, training):
        """Fills absent frames of each modality with its MIA's imagination from
        the others; returns the filled representations and the mean (over the
        modalities) reconstruction error on the present frames."""
        present = {
            m: ops.cast(_present(view, m), projected[m].dtype)[..., None]
            for m in self.modalities
        }
        filled, errors = {}, []
        for m in self.modalities:
            length = projected[m].shape[1]
            sources = [
                resample(projected[other] * present[other], length)
                for other in self.modalities
                if other != m
            ]
            imagined = self.imaginations[m](sources, training=training)
            filled[m] = present[m] * projected[m] + (1.0 - present[m]) * imagined
            errors.append(
                self.imaginations[m].reconstruction_loss(
                    projected[m], imagined, mask=present[m][..., 0]
                )
            )
        return filled, ops.mean(ops.stack(errors))

    def distillation_terms(self, y, y_pred, sample_weight=None) -> dict:
        terms = super().distillation_terms(y, y_pred, sample_weight)
        if self.lambda_rnc:
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
            terms["rnc_loss"] = (self.lambda_rnc, rnc)
        if self.imagine_missing:
            terms["mia_loss"] = (self.lambda_mia, y_pred["mia_loss"])
        return terms

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in _OPTIONS})
        return config


_OPTIONS = (
    "lambda_rnc",
    "rnc_temperature",
    "rnc_similarity",
    "imagine_missing",
    "lambda_mia",
)


def _present(view, modality):
    """Bool (batch, T_m): the frames of a modality that are present (its mask
    where given, else its nonzero frames)."""
    if f"{modality}_mask" in view:
        return ops.cast(view[f"{modality}_mask"], "float32") > 0
    return ops.any(ops.not_equal(view[modality], 0), axis=-1)
