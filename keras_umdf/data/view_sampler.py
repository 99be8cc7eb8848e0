"""The two heterogeneous training views of each sample (design decision 4,
docs/design-decisions.md, "assumed" where the paper is silent).

Every sample gets two views, a and b. Each view draws its set of available
modalities uniformly from the non-empty subsets of the sample's modalities (7 for
text, audio, vision, the complete set included) and a frame-drop rate
p ~ U[0, p_max]; every frame of every available modality is then dropped
independently with probability p. The two views of a sample never share a
modality set ("heterogeneous" views): view a draws uniformly from the 7 sets and
view b uniformly from the 6 others, which is the distribution of redrawing b until
it differs from a. The pseudo text is absent (zero, mask 0) in both views.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from keras_umdf.data.random_streams import check_rate
from keras_umdf.data.random_streams import modality_key
from keras_umdf.data.views import apply_frames
from keras_umdf.data.views import apply_frames_tf
from keras_umdf.modalities import DEFAULT_P_MAX
from keras_umdf.modalities import MODALITIES
from keras_umdf.modalities import PSEUDO_TEXT

# Sub-streams of one training batch.
_SETS_A, _SETS_B, _RATES, _FRAMES = 1, 2, 3, 4


def modality_sets(
    modalities: Sequence[str] = MODALITIES,
) -> tuple[tuple[str, ...], ...]:
    """The non-empty subsets of `modalities`, by size, then in the given order.

    For ("text", "audio", "vision") these are the seven sets of the paper, in the
    order of `keras_umdf.modalities.CONDITIONS`: l, a, v, la, lv, av, lav.

    Args:
        modalities: the modality names of a dataset.

    Returns:
        A tuple of 2**M - 1 tuples of modality names.

    Example:

    ```python
    modality_sets(("text", "audio"))  # (("text",), ("audio",), ("text", "audio"))
    ```
    """
    modalities = tuple(modalities)
    return tuple(
        subset
        for size in range(1, len(modalities) + 1)
        for subset in itertools.combinations(modalities, size)
    )


@dataclasses.dataclass(frozen=True)
class ViewMasks:
    """The random draws of the two training views of a batch (NumPy).

    Attributes:
        set_a: int (B,) index into `ViewSampler.sets` of view a's modality set.
        set_b: int (B,) the same for view b; never equal to `set_a`.
        drop_rate: float32 (B, 2), the frame-drop rate p of views a and b.
        frames: modality -> bool (B, 2, T_m), True where the frame is present
            in view a (`[:, 0]`) or view b (`[:, 1]`).
    """

    set_a: np.ndarray
    set_b: np.ndarray
    drop_rate: np.ndarray
    frames: dict[str, np.ndarray]


class ViewSampler:
    """Draws the two heterogeneous training views of each sample.

    Implements design decision 4, docs/design-decisions.md (assumed where the paper is silent): each
    view's available modalities are uniform over the non-empty subsets of
    `modalities` (`sets`), the two views of a sample have different sets (a
    uniform over all sets, b uniform over the others), and each view drops every
    frame of its available modalities independently with its own rate
    p ~ U[0, p_max]. Features of absent modalities and dropped frames become
    exactly zero; each view carries "<modality>_mask" arrays (1.0 = present).
    A "pseudo_text" stream among `modalities` is not drawn: it is absent (zero,
    mask 0) in both views, as under the paper's seven test conditions.

    `draw`/`__call__` use NumPy; `draw_tf`/`apply_tf` are the same specification
    as TensorFlow graph ops with stateless seeds (for `tf.data`).

    Args:
        modalities: the modalities of the data, at least two, e.g.
            ("text", "audio", "vision").
        p_max: largest frame-drop rate, in [0, 1] (assumed default 0.5).

    Example:

    ```python
    sampler = ViewSampler(("text", "audio", "vision"), p_max=0.5)
    views = sampler({"text": x_l, "audio": x_a, "vision": x_v},
                    rng=np.random.default_rng(0))
    views["view_a"]["audio_mask"]  # (B, T_a) float32, 1.0 = frame present
    ```
    """

    def __init__(
        self, modalities: Sequence[str] = MODALITIES, p_max: float = DEFAULT_P_MAX
    ):
        modalities = tuple(modalities)
        # Streams carried through the views but never present in them.
        self.absent = tuple(m for m in modalities if m == PSEUDO_TEXT)
        modalities = tuple(m for m in modalities if m not in self.absent)
        if len(modalities) < 2 or len(set(modalities)) != len(modalities):
            raise ValueError(
                "Two views with different modality sets need at least two distinct "
                f"modalities; received modalities={modalities!r}"
                + (f" (besides {self.absent[0]!r})" if self.absent else "")
                + ". With one modality use evaluation batches (training=False) "
                "instead."
            )
        self.modalities = modalities
        self.p_max = check_rate(
            "p_max", p_max, " It is the largest training frame-drop rate."
        )
        self.sets = modality_sets(modalities)
        # presence[k, j]: modality j is available in set k.
        self.presence = np.array(
            [[m in subset for m in modalities] for subset in self.sets], dtype=bool
        )

    @property
    def num_sets(self) -> int:
        return len(self.sets)

    # ----------------------------------------------------------------- NumPy
    def draw(
        self,
        rng: np.random.Generator,
        batch_size: int,
        sequence_lengths: Mapping[str, int],
        lengths: Mapping[str, np.ndarray] | None = None,
    ) -> ViewMasks:
        """Draws the modality sets, rates and frame masks of one batch (NumPy).

        Args:
            rng: the generator to draw from.
            batch_size: B.
            sequence_lengths: modality -> T_m for every modality of the sampler.
            lengths: optional modality -> int (B,) valid leading frames.

        Returns:
            A `ViewMasks` (its `frames` also hold the absent streams of
            `sequence_lengths`, all False).
        """
        k = self.num_sets
        set_a = rng.integers(0, k, size=batch_size)
        set_b = (set_a + 1 + rng.integers(0, k - 1, size=batch_size)) % k
        drop_rate = (rng.random((batch_size, 2)) * self.p_max).astype(np.float32)
        sets = np.stack([set_a, set_b], axis=1)
        frames = {}
        for j, modality in enumerate(self.modalities):
            steps = int(sequence_lengths[modality])
            u = rng.random((batch_size, 2, steps), dtype=np.float32)
            keep = u >= drop_rate[:, :, None]
            keep &= self.presence[sets, j][:, :, None]
            if lengths is not None and modality in lengths:
                valid = np.arange(steps) < np.asarray(lengths[modality])[:, None]
                keep &= valid[:, None, :]
            frames[modality] = keep
        for modality in self.absent:
            if modality in sequence_lengths:
                steps = int(sequence_lengths[modality])
                frames[modality] = np.zeros((batch_size, 2, steps), dtype=bool)
        return ViewMasks(set_a=set_a, set_b=set_b, drop_rate=drop_rate, frames=frames)

    def __call__(
        self,
        features: Mapping[str, np.ndarray],
        *,
        rng: np.random.Generator,
        lengths: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Turns a batch into its two views (NumPy).

        Args:
            features: modality -> float (B, T_m, d_m) for every modality of the
                sampler.
            rng: the generator to draw from.
            lengths: optional modality -> int (B,) valid leading frames.

        Returns:
            {"view_a": view, "view_b": view}, each view a dict with the masked
            float32 features and float32 "<modality>_mask" (B, T_m).
        """
        self._check_features(features)
        batch = int(next(iter(features.values())).shape[0])
        steps = {m: features[m].shape[1] for m in self._carried(features)}
        masks = self.draw(rng, batch, steps, lengths)
        views = {}
        for v, name in enumerate(("view_a", "view_b")):
            frames = {m: masks.frames[m][:, v] for m in steps}
            views[name] = apply_frames(features, frames)
        return views

    # ------------------------------------------------------------ TensorFlow
    def draw_tf(self, seed, batch_size, sequence_lengths, lengths=None) -> dict:
        """`draw` as TensorFlow graph ops, keyed by a stateless seed.

        Args:
            seed: int64 (2,) stateless seed (e.g. derived with
                `tf.random.experimental.stateless_fold_in`).
            batch_size: B, a Python int or a scalar int tensor.
            sequence_lengths: modality -> T_m (Python ints).
            lengths: optional modality -> int (B,) tensor of valid leading frames.

        Returns:
            dict with "set_a", "set_b" (int32 (B,)), "drop_rate" (float32 (B, 2))
            and "frames" (modality -> bool (B, 2, T_m)), as in `ViewMasks`.
        """
        import tensorflow as tf

        fold = tf.random.experimental.stateless_fold_in
        seed = tf.cast(seed, tf.int64)
        k = self.num_sets
        shape = tf.reshape(tf.cast(batch_size, tf.int32), [1])
        set_a = tf.random.stateless_uniform(
            shape, fold(seed, _SETS_A), minval=0, maxval=k, dtype=tf.int32
        )
        offset = tf.random.stateless_uniform(
            shape, fold(seed, _SETS_B), minval=0, maxval=k - 1, dtype=tf.int32
        )
        set_b = (set_a + 1 + offset) % k
        drop_rate = self.p_max * tf.random.stateless_uniform(
            tf.concat([shape, [2]], 0), fold(seed, _RATES)
        )
        sets = tf.stack([set_a, set_b], axis=1)
        present = tf.gather(tf.constant(self.presence), sets)  # (B, 2, M)
        frames = {}
        for j, modality in enumerate(self.modalities):
            steps = int(sequence_lengths[modality])
            u = tf.random.stateless_uniform(
                tf.concat([shape, [2, steps]], 0),
                fold(fold(seed, _FRAMES), modality_key(modality)),
            )
            keep = tf.logical_and(u >= drop_rate[:, :, None], present[:, :, j, None])
            if lengths is not None and modality in lengths:
                valid = (
                    tf.range(steps)[None, :]
                    < tf.cast(lengths[modality], tf.int32)[:, None]
                )
                keep = tf.logical_and(keep, valid[:, None, :])
            frames[modality] = keep
        for modality in self.absent:
            if modality in sequence_lengths:
                steps = int(sequence_lengths[modality])
                frames[modality] = tf.zeros(tf.concat([shape, [2, steps]], 0), tf.bool)
        return {
            "set_a": set_a,
            "set_b": set_b,
            "drop_rate": drop_rate,
            "frames": frames,
        }

    def apply_tf(self, features, seed, lengths=None) -> dict:
        """`__call__` as TensorFlow graph ops, keyed by a stateless seed.

        Args:
            features: modality -> float (B, T_m, d_m) tensors.
            seed: int64 (2,) stateless seed.
            lengths: optional modality -> int (B,) tensors.

        Returns:
            {"view_a": view, "view_b": view} of float32 tensors.
        """
        import tensorflow as tf

        self._check_features(features)
        batch = tf.shape(features[self.modalities[0]])[0]
        steps = {m: int(features[m].shape[1]) for m in self._carried(features)}
        masks = self.draw_tf(seed, batch, steps, lengths)
        views = {}
        for v, name in enumerate(("view_a", "view_b")):
            frames = {m: masks["frames"][m][:, v] for m in steps}
            views[name] = apply_frames_tf(features, frames)
        return views

    def _carried(self, features) -> tuple[str, ...]:
        """The sampler's modalities, then the absent streams `features` has."""
        return self.modalities + tuple(m for m in self.absent if m in features)

    def _check_features(self, features) -> None:
        missing = [m for m in self.modalities if m not in features]
        if missing:
            raise ValueError(
                f"The sampler was built for modalities {self.modalities} but the "
                f"features lack {missing}; received {sorted(features)}."
            )

    def __repr__(self) -> str:
        modalities = self.modalities + self.absent
        return f"ViewSampler(modalities={modalities!r}, p_max={self.p_max})"
