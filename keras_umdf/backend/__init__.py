"""Backend-specific speed code, in one room (not public API).

The layers, the optimizer and the distribution scope are written with
`keras.ops` and the paper's equations. Where one backend has a faster way to
compute the same values (a fused kernel, a hand-written gradient, an optimizer
op) or needs its own engine, the code lives here, and each concern is reached
through one dispatch point:

- `ops`: the kernels of the attention layers. `fast_attention` (the running
  backend's `tensorflow/`, `jax/` or `torch/` `attention.py`, each with a
  gradient that recomputes the attention probabilities;
  `keras.ops.dot_product_attention` or the reference elsewhere) and
  `grouped_matmul` (one batched product per group on TensorFlow).
- `cpu_cache`: the CPU's last-level cache, which the TensorFlow and PyTorch
  kernels size their chunks by.
- `fused_interaction`: MCIM's attentions batched into a few large products,
  from weights passed as arguments.
- `adam`: TensorFlow's one-op Adam update of `keras_umdf.optimizers.Adam`.
- `keras_umdf.distribution` picks the engine: `tensorflow.strategies`
  (`tf.distribute`) or `jax.data_parallel` (`keras.distribution`).
- `tensorflow.onednn`: TensorFlow's oneDNN CPU kernels (`keras_umdf.onednn`).

`tensorflow/`, `jax/` and `torch/` import their framework at the top, so they
are imported only when that backend runs. This file and `tensorflow/__init__.py`
import nothing: `keras_umdf.onednn` is imported before Keras loads.
"""
