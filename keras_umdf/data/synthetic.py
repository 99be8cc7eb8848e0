"""Built-in synthetic stand-ins for CMU-MOSI, CMU-MOSEI and IEMOCAP: `synthetic`."""

from __future__ import annotations

import numbers

from keras_umdf.argument_validation import check_int
from keras_umdf.data.multimodal_dataset import IEMOCAP_EMOTIONS
from keras_umdf.data.multimodal_dataset import SPLITS
from keras_umdf.data.multimodal_dataset import MultimodalDataset
from keras_umdf.data.random_streams import check_seed
from keras_umdf.data.synthetic_specs import DATASETS
from keras_umdf.data.synthetic_specs import PAPER_DIMS
from keras_umdf.data.synthetic_specs import SPECS
from keras_umdf.data.synthetic_world import SyntheticWorld
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT

__all__ = ["DATASETS", "FEATURE_STYLES", "PADDINGS", "PAPER_DIMS", "SPECS", "synthetic"]

FEATURE_STYLES = ("clean", "real")
PADDINGS = ("front", "end")


def synthetic(
    name: str = "mosi",
    seed: int = 0,
    *,
    mmsa_features: bool = False,
    scale: float = 1.0,
    sequence_length: int = 50,
    modality_dims: dict[str, int] | None = None,
    pseudo_text: bool = False,
    pseudo_text_dim: int | None = None,
    feature_style: str = "clean",
    padding: str | None = None,
) -> MultimodalDataset:
    """Synthetic MOSI, MOSEI or IEMOCAP with the real shapes, splits and structure.

    The default dataset of keras_umdf: it needs no download, has the shapes and
    split sizes of the real data (MOSI 1284/229/686, MOSEI 16326/1871/4659,
    IEMOCAP 2717/798/938 as in MulT's split; aligned, 50 frames; GloVe 300,
    COVAREP 74, Facet 35, or MMSA's BERT 768 / 5 / 20 for MOSI), and structure a
    model can learn, generated deterministically from `seed` in float32.

    Generative process, per clip i:

    1. A latent z_i: MOSI/MOSEI the sentiment s_i from a mixture of a neutral
       spike N(0, 0.25^2) and two modes N(-+mu, sd^2) (MOSI symmetric, MOSEI
       skewed positive with more neutral clips); IEMOCAP (valence, arousal) =
       the centre of an emotion drawn from the priors (neutral, happy, sad,
       angry) + N(0, 0.5^2) noise.
    2. Labels: MOSI/MOSEI y_i = s_i + N(0, 0.3^2) rounded to the annotation
       grid (1/5 for MOSI, 1/3 for MOSEI, so some labels are exactly 0) and
       clipped to [-3, 3]; IEMOCAP multi-label flags (IEMOCAP_EMOTIONS order)
       with the drawn emotion present, plus with probability 0.05 the emotion
       whose centre is next closest to z_i.
    3. A clip length L_i uniform in [8, T]; frames before T - L_i are zero
       (front padding, as in the aligned MulT/MMSA arrays; `padding="end"`
       zeroes the frames from L_i on instead). A shared temporal
       envelope g_i(t) > 0 (smooth AR(1)) sets how strongly the clip expresses
       z_i at frame t, and a shared 4-d nuisance trajectory r_i(t) (AR(1),
       rho = 0.9: speaker, topic, recording) is unrelated to the label.
    4. Modality m: x_m(i, t) = g_i(t) * (c_m . (z_i + e_mi)) * w_m
       + r_i(t) C_m + unit-variance noise per feature (triangular: the sum of
       two uniforms, drawn fast), with w_m a random unit direction,
       C_m random loadings (both fixed per seed, shared by the splits), c_m the
       modality's loadings on z and e_mi ~ N(0, tau_m^2) a clip-level deviation
       of modality m that does not average out over frames: tau is 0.9 for
       language, 1.6 for audio and 2.2 for vision (sentiment), so language is
       the most informative and audio and vision are weaker. For IEMOCAP
       language loads on valence, audio on arousal.
    5. All modalities share g_i(t) z_i and r_i(t), so they are correlated and a
       missing one can partly be recovered from the others.
    6. Optional pseudo text (`pseudo_text=True`), the stand-in for a transcript
       that is missing, as an ASR system would give it from the audio: a noisy,
       partial copy of the text signal. Its clip-level strength is
       c_L . (z_i + e_Li + 0.3 e_Ai + u_i): the text's own content (with the
       text's deviation e_Li) plus 0.3 of the audio's deviation and a
       recognition error u_i ~ N(0, 0.6^2); only a random fraction
       q_i ~ U[0.4, 1] of the frames carries it ("recognised words"), with the
       shared envelope, nuisance and frame noise, in its own direction of its
       own width (default: the text's). It is less informative than the text
       and more than the audio, and adds to audio and vision part of what the
       text would. It comes from separate random streams: every other array is
       the same with and without it.

    A linear model on time-averaged features predicts MOSI test labels clearly
    better than the mean with all modalities, better with language alone than
    with vision alone, and at chance with shuffled training labels (tested).

    Real-looking features (`feature_style="real"`): the same clips, latents,
    labels and frame noise as the default ("clean") data of the same seed, with
    the properties of the real feature files that a model must cope with:

    - Units per modality and dimension, feature = offset_j + scale_j * (clean
      feature) on present frames: text like BERT token states or GloVe (scale
      0.3 exp(N(0, 0.25^2)), offset N(0, 0.15^2): a standard deviation near
      0.35), audio like COVAREP (scale 10^U[-1, 2], offset N(0, 100^2): values
      in the hundreds, dimensions differing by orders of magnitude, and
      `width // 16` constant columns), vision like Facet (scale
      exp(N(0, 0.5^2)), offset N(0, 1)).
    - Short clips and much padding: length T exp(N(log 0.35, 0.5^2)) rounded
      to [3, T] (a median of about 17 of 50 frames), shared by the aligned
      modalities, zero-padded at the end by default (MMSA's BERT text) or at
      the front (`padding="front"`, MulT's aligned pickles).
    - Zero frames inside the clip: a fraction U[0, 0.2] of each clip's audio
      frames and U[0, 0.4] of its vision frames are all-zero.
    - A weak modality: vision carries 0.15 of its clean signal (near chance).
    - No `Split.lengths`, as in the aligned files: padding is only visible as
      zero frames. The pseudo text gets the text's units, and padding only.

    A linear model on the text's frames averaged over its real (nonzero) frames
    still predicts the labels clearly better than the mean (tested).

    Args:
        name: "mosi", "mosei" or "iemocap".
        seed: non-negative int; the same seed gives the same arrays.
        mmsa_features: MMSA's feature widths (BERT 768 text; MOSI audio 5,
            vision 20) instead of the paper's 300/74/35. Not for IEMOCAP.
        scale: fraction of the real split sizes to generate (each split keeps
            at least 2 clips), e.g. 0.05 for a quick test.
        sequence_length: frames per clip T (50 in the aligned data).
        modality_dims: feature widths to use instead (e.g. tiny ones for tests).
        pseudo_text: add a "pseudo_text" stream to every split (step 6).
        pseudo_text_dim: its width; default the text width (300, or 768 with
            `mmsa_features`).
        feature_style: "clean" (the default: unit-scale features, clips of
            8 to T frames) or "real" (units, lengths, zero frames and a weak
            modality like the real feature files; see above).
        padding: where the zero padding of a clip goes, "front" or "end";
            None means "front" for "clean" and "end" for "real".

    Returns:
        A validated `MultimodalDataset` with splits "train", "valid", "test"
        (regression for MOSI/MOSEI; multi-label classification with 4 labels
        for IEMOCAP).

    Example:

    ```python
    data = keras_umdf.data.synthetic("mosi", seed=0)
    data.modality_dims  # {"text": 300, "audio": 74, "vision": 35}
    tiny = keras_umdf.data.synthetic("iemocap", scale=0.02, sequence_length=10)
    sdumc = keras_umdf.data.synthetic("mosei", pseudo_text=True)
    sdumc.modality_dims  # {..., "pseudo_text": 300}
    ```
    """
    if name not in SPECS:
        raise ValueError(f"name must be one of {DATASETS}; received name={name!r}.")
    spec = SPECS[name]
    seed = check_seed(seed)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(
            f"scale must be a positive fraction of the real split sizes; received "
            f"scale={scale!r}."
        )
    sequence_length = check_int("sequence_length", sequence_length)
    if modality_dims is not None:
        dims = dict(modality_dims)
        unknown = sorted(set(dims) - set(MODALITIES))
        bad = {
            m: d
            for m, d in dims.items()
            if not isinstance(d, numbers.Integral) or d < 1
        }
        if unknown or bad or not dims:
            raise ValueError(
                f"modality_dims maps some of {MODALITIES} to positive widths; "
                f"received {modality_dims!r}."
            )
    elif mmsa_features:
        if spec.mmsa_dims is None:
            raise ValueError(
                f"mmsa_features=True has no meaning for {name!r} (MMSA ships MOSI "
                "and MOSEI only); leave it False."
            )
        dims = spec.mmsa_dims
    else:
        dims = spec.dims
    dims = {m: int(dims[m]) for m in MODALITIES if m in dims}
    if pseudo_text_dim is not None and (
        isinstance(pseudo_text_dim, bool)
        or not isinstance(pseudo_text_dim, numbers.Integral)
        or pseudo_text_dim < 1
        or not pseudo_text
    ):
        raise ValueError(
            "pseudo_text_dim is the positive width of the pseudo text and needs "
            f"pseudo_text=True; received pseudo_text={pseudo_text!r}, "
            f"pseudo_text_dim={pseudo_text_dim!r}."
        )
    if pseudo_text:
        dims[PSEUDO_TEXT] = int(pseudo_text_dim or dims.get("text", spec.dims["text"]))
    if feature_style not in FEATURE_STYLES:
        raise ValueError(
            f"feature_style must be one of {FEATURE_STYLES}; received "
            f"feature_style={feature_style!r}."
        )
    if padding is None:
        padding = "end" if feature_style == "real" else "front"
    if padding not in PADDINGS:
        raise ValueError(
            f"padding must be one of {PADDINGS} (or None for the style's default); "
            f"received padding={padding!r}."
        )
    steps = int(sequence_length)
    world = SyntheticWorld(
        name, seed, dims, real=feature_style == "real", padding=padding
    )
    splits = {}
    for split_name, size in zip(SPLITS, spec.sizes, strict=True):
        num = max(2, int(round(size * float(scale))))
        splits[split_name] = world.split(split_name, num, steps)
    if name == "iemocap":
        return MultimodalDataset(
            splits,
            task="classification",
            num_classes=len(IEMOCAP_EMOTIONS),
            multi_label=True,
            label_names=IEMOCAP_EMOTIONS,
            name="synthetic-iemocap",
        )
    return MultimodalDataset(splits, task="regression", name=f"synthetic-{name}")
