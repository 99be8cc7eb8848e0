"""Backend-specific speed code, in one room (not public API).

The layers, the optimizer and the distribution scope are written with
`keras.ops` and the paper's equations. Where one backend has a faster way to
compute the same values (a fused kernel, a hand-written gradient, an optimizer
op) or needs its own engine, the code lives here, and each concern is reached
through one dispatch point:

- `ops`: the kernels of the attention layers. `fast_attention` (TensorFlow's
  head-by-head attention, `keras.ops.dot_product_attention` elsewhere) and
  `grouped_matmul` (one batched product per group on TensorFlow).
- `fused_interaction`: MCIM's attentions batched into a few large products,
  from weights passed as arguments.
- `adam`: TensorFlow's one-op Adam update of `keras_umdf.optimizers.Adam`.
- `keras_umdf.distribution` picks the engine: `tensorflow.strategies`
  (`tf.distribute`) or `jax.data_parallel` (`keras.distribution`).
- `tensorflow.onednn`: TensorFlow's oneDNN CPU kernels (`keras_umdf.onednn`).

`tensorflow/` and `jax/` import their framework at the top, so they are
imported only when that backend runs. This file and `tensorflow/__init__.py`
import nothing: `keras_umdf.onednn` is imported before Keras loads.
"""
