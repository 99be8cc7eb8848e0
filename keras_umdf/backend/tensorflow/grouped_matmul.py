"""`einsum("btgi,gio->btgo")` as one batched matmul, for TensorFlow."""

import tensorflow as tf


def grouped_matmul(x, kernel):
    """Group g of `x` (batch, T, G, i) times `kernel[g]` (i, o): (batch, T, G, o).

    One batched matmul over the groups between two transposes of the small
    activations: the same products as TensorFlow's `Einsum` kernel, which took
    8% of a training step's op time at the paper's configuration (batch 128,
    oneDNN on; `benchmarks/profile_step.py`) and, with its gradients, ran about
    40% slower than this at the paper's shapes.
    """
    length, groups, width = x.shape[1], x.shape[2], x.shape[3]
    grouped = tf.transpose(tf.reshape(x, (-1, groups, width)), (1, 0, 2))
    outputs = tf.transpose(tf.linalg.matmul(grouped, kernel), (1, 0, 2))
    return tf.reshape(outputs, (-1, length, groups, kernel.shape[-1]))
