"""Missing modalities and missing frames: one specification, in NumPy and in TensorFlow.

Training (design decision 4, docs/design-decisions.md, "assumed" where the paper is silent): every sample
gets two views, a and b. Each view draws its set of available modalities uniformly
from the non-empty subsets of the sample's modalities (7 for text, audio, vision,
the complete set included) and a frame-drop rate p ~ U[0, p_max]; every frame of
every available modality is then dropped independently with probability p. The two
views of a sample never share a modality set ("heterogeneous" views): view a draws
uniformly from the 7 sets and view b uniformly from the 6 others, which is the
distribution of redrawing b until it differs from a.

Evaluation (the paper's protocol): a fixed test condition such as "la" keeps the
listed modalities and removes the others entirely; a frame-drop rate p in [0, 1]
then drops each frame of a kept modality with probability p (p = 1 removes
everything). The frames an evaluation drops are keyed by (seed, modality, sample
index), so they do not depend on the batch size or the order of the samples.

The pseudo text (`keras_umdf.modalities.PSEUDO_TEXT`, SDUMC's stand-in for a
missing transcript, e.g. ASR embeddings) is not one of the modalities the views
or the paper's seven conditions draw from: it is absent (zero, mask 0) in both
training views and under "l" ... "lav", and present under the named conditions
"text_missing" (audio, vision, pseudo text) and "all_streams" (everything).

Dropped or absent features are exactly zero, and every view carries presence masks
"<modality>_mask" (1.0 = frame present). Frames at or beyond a sample's valid length
(MMSA's `*_lengths` for unaligned data) are absent in every view.

A frame is kept when its uniform draw u in [0, 1) satisfies u >= p, so p = 0 keeps
every frame and p = 1 drops every frame.

The NumPy functions (`ViewSampler.draw`, `ViewSampler.__call__`,
`apply_condition`) serve `MaskedPyDataset` on machines without TensorFlow; the
TensorFlow functions (`ViewSampler.draw_tf`, `ViewSampler.apply_tf`,
`apply_condition_tf`) are the graph ops of `make_dataset`. Both follow the
specification above; they use different random generators (NumPy's PCG64 and
TensorFlow's stateless Philox), so they agree in distribution, not draw for draw.
TensorFlow is imported inside the TensorFlow functions only.

The specification is implemented in four modules, and every name is importable
from here too:

- `keras_umdf.data.view_sampler`: the two training views (`ViewSampler`,
  `modality_sets`);
- `keras_umdf.data.condition_views`: the test conditions (`apply_condition`,
  `apply_condition_tf`, `condition_frames`);
- `keras_umdf.data.views`: a view's zeroed frames and presence masks
  (`apply_frames`, `mask_key`);
- `keras_umdf.data.random_streams`: seeds, random streams and rates.
"""

from keras_umdf.data.condition_views import apply_condition
from keras_umdf.data.condition_views import apply_condition_tf
from keras_umdf.data.condition_views import condition_frames
from keras_umdf.data.random_streams import EVAL_STREAM
from keras_umdf.data.random_streams import SHUFFLE_STREAM
from keras_umdf.data.random_streams import TRAIN_STREAM
from keras_umdf.data.random_streams import check_rate
from keras_umdf.data.random_streams import check_seed
from keras_umdf.data.random_streams import modality_key
from keras_umdf.data.view_sampler import DEFAULT_P_MAX
from keras_umdf.data.view_sampler import ViewMasks
from keras_umdf.data.view_sampler import ViewSampler
from keras_umdf.data.view_sampler import modality_sets
from keras_umdf.data.views import apply_frames
from keras_umdf.data.views import apply_frames_tf
from keras_umdf.data.views import mask_key

__all__ = [
    "DEFAULT_P_MAX",
    "EVAL_STREAM",
    "SHUFFLE_STREAM",
    "TRAIN_STREAM",
    "ViewMasks",
    "ViewSampler",
    "apply_condition",
    "apply_condition_tf",
    "apply_frames",
    "apply_frames_tf",
    "check_rate",
    "check_seed",
    "condition_frames",
    "mask_key",
    "modality_key",
    "modality_sets",
]
