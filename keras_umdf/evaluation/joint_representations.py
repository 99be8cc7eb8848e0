"""The joint multimodal representations of a split, for the t-SNE of Figure 6."""

from __future__ import annotations

import keras
import numpy as np

from keras_umdf.evaluation.protocol import evaluation_batches

TSNE_CONDITION = "l"
"""Figure 6's test condition: only the language modality present."""

TSNE_DROP_RATE = 0.5
"""Figure 6's frame-drop rate p within the present modality."""


def joint_representations(
    model,
    split,
    *,
    condition: str = TSNE_CONDITION,
    drop_rate: float = TSNE_DROP_RATE,
    batch_size: int = 128,
    seed: int = 0,
) -> np.ndarray:
    """The joint representation h of every sample of a split under a condition.

    h is the last frame of `model.encode(view)`, the joint representation H
    (T, 3d) that the feature distillation compares between the two views and
    that the paper's Figure 6 embeds with t-SNE (there under condition {l}
    with p = 0.5, the defaults here).

    Args:
        model: a trained `UMDF`.
        split: a `keras_umdf.data.Split`.
        condition: the present modalities (default "l").
        drop_rate: frame-drop rate p in [0, 1] (default 0.5).
        batch_size: encoding batch size.
        seed: seed of the frame drops.

    Returns:
        float32 (N, 3 * hidden_dim), in the split's sample order.

    Example:

    ```python
    h = joint_representations(model, data["test"])
    plot_tsne(h, data["test"].labels, "tsne.png")
    ```
    """
    if not hasattr(model, "encode"):
        raise ValueError(
            "joint_representations needs a keras_umdf UMDF model (with an "
            f"`encode` method); received {type(model).__name__}."
        )
    dataset = evaluation_batches(
        split,
        condition=condition,
        drop_rate=drop_rate,
        batch_size=batch_size,
        seed=seed,
    )
    if hasattr(dataset, "as_numpy_iterator"):  # tf.data
        batches = dataset.as_numpy_iterator()
    else:  # MaskedPyDataset, where TensorFlow is not installed
        batches = (dataset[i] for i in range(len(dataset)))
    parts = []
    for x, _ in batches:
        view = {k: keras.ops.convert_to_tensor(v) for k, v in x.items()}
        h = model.encode(view, training=False)
        parts.append(keras.ops.convert_to_numpy(h[:, -1, :]).astype(np.float32))
    return np.concatenate(parts, axis=0)
