"""`masked_batches`: the one place that chooses between tf.data and `PyDataset`.

The rule: the tf.data pipeline (`make_dataset`) wherever TensorFlow is
installed, under every Keras backend; `MaskedPyDataset` only where it is not
(JAX- or PyTorch-only machines). So one seed gives the same shuffles and masks
whichever backend trains or tests (the two implementations agree in
distribution, not draw for draw), and JAX's multi-process data parallelism,
which Keras feeds from tf.data only, works from every command.
"""

from __future__ import annotations

from keras_umdf.modalities import DEFAULT_P_MAX


def tf_data_available() -> bool:
    """Whether the batches come from tf.data: TensorFlow can be imported."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True


def masked_batches(
    split,
    *,
    training: bool,
    batch_size: int,
    seed: int = 0,
    condition: str = "lav",
    drop_rate: float = 0.0,
    shuffle: bool | None = None,
    drop_remainder: bool = False,
    first_epoch: int = 0,
    p_max: float = DEFAULT_P_MAX,
):
    """Masked batches of one split, for `fit`, `evaluate` or `predict`.

    `make_dataset` where TensorFlow is installed (`tf_data_available`), else
    `MaskedPyDataset`: the same arguments, masking specification and batch
    contract.

    Args:
        split: a `Split`, e.g. `data["train"]`.
        training: two random views per sample (True) or one view under
            `condition` (False).
        batch_size: samples per batch.
        seed: non-negative int; the shuffles and masks derive from it.
        condition: evaluation only: the present modalities, e.g. "la", or a
            named condition ("text_missing", "all_streams").
        drop_rate: evaluation only: frame-drop rate p in [0, 1].
        shuffle: shuffle the samples, anew each epoch; default `training`.
        drop_remainder: drop the last batch if it is smaller than `batch_size`.
        first_epoch: the epoch the first iteration draws (a run resumed after
            k finished epochs passes k).
        p_max: training only: each view drops frames at a rate p ~ U[0, p_max]
            (`keras_umdf.modalities.DEFAULT_P_MAX` by default).

    Returns:
        A `tf.data.Dataset` or a `MaskedPyDataset` of `(x, y)` batches.

    Example:

    ```python
    train = masked_batches(data["train"], training=True, batch_size=128, seed=0)
    test_la = masked_batches(data["test"], training=False, batch_size=128,
                             condition="la")
    model.fit(train, epochs=10, shuffle=False)
    ```
    """
    kwargs = dict(
        training=training,
        batch_size=batch_size,
        seed=seed,
        condition=condition,
        drop_rate=drop_rate,
        shuffle=shuffle,
        drop_remainder=drop_remainder,
        p_max=p_max,
    )
    if tf_data_available():
        from keras_umdf.data.pipeline import make_dataset

        return make_dataset(split, first_epoch=first_epoch, **kwargs)
    from keras_umdf.data.py_dataset import MaskedPyDataset

    return MaskedPyDataset(split, epoch=first_epoch, **kwargs)
