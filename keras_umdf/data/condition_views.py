"""The paper's test conditions as masks: a fixed set of modalities, frames
dropped at a fixed rate.

A test condition such as "la" keeps the listed modalities and removes the others
entirely; a frame-drop rate p in [0, 1] then drops each frame of a kept modality
with probability p (p = 1 removes everything). The frames an evaluation drops are
keyed by (seed, modality, sample index), so they do not depend on the batch size
or the order of the samples.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from keras_umdf.data.random_streams import EVAL_STREAM
from keras_umdf.data.random_streams import check_rate
from keras_umdf.data.random_streams import check_seed
from keras_umdf.data.random_streams import modality_key
from keras_umdf.data.views import apply_frames
from keras_umdf.data.views import apply_frames_tf
from keras_umdf.modalities import condition_modalities


def _check_condition_args(
    condition, drop_rate, seed
) -> tuple[tuple[str, ...], float, int]:
    present = condition_modalities(condition)
    drop_rate = check_rate(
        "drop_rate", drop_rate, " It is the fraction of frames dropped (1.0 drops all)."
    )
    return present, drop_rate, check_seed(seed)


def condition_frames(
    indices: np.ndarray,
    sequence_lengths: Mapping[str, int],
    condition: str = "lav",
    drop_rate: float = 0.0,
    seed: int = 0,
    lengths: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The frames present under a test condition, for the samples `indices` (NumPy).

    The draws of sample i are keyed by (seed, modality, i) alone.

    Args:
        indices: int (B,) indices of the samples in their split.
        sequence_lengths: modality -> T_m.
        condition: test condition, e.g. "la" (any letter order).
        drop_rate: frame-drop rate p in [0, 1] within the present modalities.
        seed: non-negative int.
        lengths: optional modality -> int (B,) valid leading frames.

    Returns:
        modality -> bool (B, T_m), True where the frame is present.
    """
    present, drop_rate, seed = _check_condition_args(condition, drop_rate, seed)
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    frames = {}
    for modality, steps in sequence_lengths.items():
        steps = int(steps)
        if modality not in present or drop_rate >= 1.0:
            keep = np.zeros((indices.size, steps), dtype=bool)
        elif drop_rate <= 0.0:
            keep = np.ones((indices.size, steps), dtype=bool)
        else:
            key = modality_key(modality)
            u = np.stack(
                [
                    np.random.default_rng([seed, EVAL_STREAM, key, int(i)]).random(
                        steps, dtype=np.float32
                    )
                    for i in indices
                ]
            ).reshape(indices.size, steps)
            keep = u >= drop_rate
        if lengths is not None and modality in lengths:
            keep &= np.arange(steps) < np.asarray(lengths[modality])[:, None]
        frames[modality] = keep
    return frames


def apply_condition(
    features: Mapping[str, np.ndarray],
    condition: str = "lav",
    drop_rate: float = 0.0,
    seed: int = 0,
    *,
    lengths: Mapping[str, np.ndarray] | None = None,
    indices: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Applies a test condition of the paper to a batch of features (NumPy).

    Modalities not named by `condition` are removed entirely (exactly zero,
    mask 0); nothing else changes at `drop_rate=0`. With `drop_rate=p`, each frame
    of a present modality is dropped independently with probability p, keyed by
    (seed, modality, sample index), so the result does not depend on how the
    samples are batched and is the same on every Keras backend; p = 1.0 zeroes
    everything.

    Args:
        features: modality -> float (N, T_m, d_m), e.g. `split.features`.
        condition: the present modalities as letters l, a, v in any order, one
            of `keras_umdf.modalities.CONDITIONS` (e.g. "la": vision removed;
            the pseudo text is removed too), or "text_missing" (the real text
            removed, audio, vision and the pseudo text kept) or "all_streams".
        drop_rate: frame-drop rate p in [0, 1].
        seed: non-negative int seed of the frame drops.
        lengths: optional modality -> int (N,) valid leading frames; later frames
            are absent (zero, mask 0).
        indices: optional int (N,) indices of these samples in their split (the
            key of their draws); default 0..N-1.

    Returns:
        A view: modality -> float32 (N, T_m, d_m) and "<modality>_mask" -> float32
        (N, T_m), 1.0 where the frame is present.

    Example:

    ```python
    view = apply_condition(data["test"].features, "la")
    model.predict(view)  # vision missing
    view = apply_condition(data["test"].features, "lav", drop_rate=0.3, seed=0)
    view = apply_condition(data["test"].features, "text_missing")  # SDUMC
    ```
    """
    features = dict(features)
    if not features:
        raise ValueError("apply_condition needs at least one modality; received none.")
    num = int(next(iter(features.values())).shape[0])
    if indices is None:
        indices = np.arange(num)
    steps = {m: int(np.shape(x)[1]) for m, x in features.items()}
    frames = condition_frames(indices, steps, condition, drop_rate, seed, lengths)
    return apply_frames(features, frames)


def apply_condition_tf(
    features,
    condition: str = "lav",
    drop_rate: float = 0.0,
    seed: int = 0,
    *,
    indices=None,
    lengths=None,
) -> dict:
    """`apply_condition` as TensorFlow graph ops (for `tf.data`).

    The draws of sample i are keyed by (seed, modality, i) with TensorFlow's
    stateless generator, so they do not depend on the batching either.

    Args:
        features: modality -> float (B, T_m, d_m) tensors.
        condition: test condition, e.g. "la".
        drop_rate: frame-drop rate p in [0, 1] (a Python float).
        seed: non-negative int.
        indices: int (B,) tensor of the samples' indices in their split; needed
            when 0 < drop_rate < 1.
        lengths: optional modality -> int (B,) tensors.

    Returns:
        A view of float32 tensors, as `apply_condition`.
    """
    import tensorflow as tf

    present, drop_rate, seed = _check_condition_args(condition, drop_rate, seed)
    frames = {}
    for modality, x in features.items():
        steps = int(x.shape[1])
        batch = tf.shape(x)[0]
        if modality not in present or drop_rate >= 1.0:
            keep = tf.zeros([batch, steps], tf.bool)
        elif drop_rate <= 0.0:
            keep = tf.ones([batch, steps], tf.bool)
        else:
            if indices is None:
                raise ValueError(
                    "apply_condition_tf needs the samples' `indices` when "
                    f"0 < drop_rate < 1; received drop_rate={drop_rate} and "
                    "indices=None."
                )
            base = tf.constant([seed, EVAL_STREAM], tf.int64)
            base = tf.random.experimental.stateless_fold_in(
                base, modality_key(modality)
            )

            def draw(i, base=base, steps=steps):
                return tf.random.stateless_uniform(
                    [steps], tf.random.experimental.stateless_fold_in(base, i)
                )

            u = tf.map_fn(
                draw,
                tf.cast(indices, tf.int64),
                fn_output_signature=tf.TensorSpec([steps], tf.float32),
            )
            keep = u >= drop_rate
        if lengths is not None and modality in lengths:
            valid = (
                tf.range(steps)[None, :] < tf.cast(lengths[modality], tf.int32)[:, None]
            )
            keep = tf.logical_and(keep, valid)
        frames[modality] = keep
    return apply_frames_tf(features, frames)
