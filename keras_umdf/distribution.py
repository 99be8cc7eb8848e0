"""Data-parallel training on the distribution engines Keras already has.

`distribution_scope(name)` opens the engine that fits the Keras backend:
`tf.distribute.MirroredStrategy` (several GPUs of one machine) or
`tf.distribute.MultiWorkerMirroredStrategy` (several machines) under TensorFlow,
`keras.distribution.DataParallel` under JAX. keras_umdf adds no parallelism of
its own; this module only picks, checks and opens the engine, and
`scale_loss_for_replicas` gives `UMDF.compute_loss` the loss convention of
`tf.distribute`.

This module is the dispatch point; the engines' own code is in
`keras_umdf.backend.tensorflow.strategies` and
`keras_umdf.backend.jax.data_parallel`, imported when a scope is opened, not
when this module is imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

import keras

STRATEGIES = ("none", "mirrored", "multi_worker", "data_parallel")

# The backend each engine runs on.
_ENGINE_BACKEND = {
    "mirrored": "tensorflow",
    "multi_worker": "tensorflow",
    "data_parallel": "jax",
}
_ALTERNATIVE = {
    "tensorflow": "'mirrored' (the GPUs of one machine) or 'multi_worker' "
    "(several machines, with TF_CONFIG)",
    "jax": "'data_parallel' (every JAX device)",
}


@contextlib.contextmanager
def distribution_scope(
    name: str | None = None, *, devices: Sequence[str] | None = None
) -> Iterator[Any]:
    """A context in which a model is built, compiled and fit data-parallel.

    The global batch of every step is split evenly across the replicas (one per
    device); each replica runs the forward and backward pass on its part, the
    gradients are summed across replicas, and every replica applies the same
    update to its copy of the weights. So a global batch of 64 on 4 GPUs puts 16
    samples on each GPU; `batch_size` in `make_dataset` is the global batch.
    Pass `drop_remainder=True` to `make_dataset` and a batch size divisible by
    the number of replicas: JAX cannot split a batch unevenly, and under
    `tf.distribute` an uneven last batch is averaged per replica (a replica with
    no sample reports a NaN loss for that step).

    The feature distillation term (MMD between the joint features of the two
    views, `lambda_fea`) is a statistic of a whole batch, not a mean over
    samples. Under `tf.distribute` ("mirrored", "multi_worker") each replica
    computes it on its own part of the batch and the replicas' values are
    averaged: training with `lambda_fea > 0` is then not the same as on one
    device with the same global batch (it is as if the batch were the
    per-replica batch for that term). With `lambda_fea = 0` the replicated step
    equals the single-device step on the same global batch, up to float
    rounding. Under JAX ("data_parallel") the model code runs as one program
    over the global batch that XLA partitions across the devices, so the MMD is
    computed over the global batch and every term equals the single-device one.

    Under `tf.distribute`, Keras's `fit` draws one batch to build the model
    before training, which starts one iteration of a `make_dataset` pipeline.
    As the pipeline counts iterations as epochs, `fit`'s epoch k uses the
    shuffle and masks of pipeline epoch k + 1: still determined by the seed and
    the same on every worker, but not those of a single-device `fit` with the
    same seed.

    Strategies:

    - `None` or "none": no distribution; the scope does nothing.
    - "mirrored" (TensorFlow backend): `tf.distribute.MirroredStrategy` over
      every visible GPU of this machine (the CPUs if there is none), or over
      `devices`, e.g. `["/gpu:0", "/gpu:1"]`.
    - "multi_worker" (TensorFlow backend): `MultiWorkerMirroredStrategy` over
      every worker of the cluster in the `TF_CONFIG` environment variable, with
      the GPUs (or the CPU) of each worker as replicas. Start the same program
      on every worker, each with its own `TF_CONFIG` task index, and open this
      scope before any other TensorFlow work (before `make_dataset`).
      Datasets are sharded by data (unless a dataset sets its own
      `auto_shard_policy`): every worker computes every global batch of
      `make_dataset` or `make_dataset_from_shards` (their shuffle and masks are
      keyed by seed, epoch and batch index, so the workers agree) and keeps its
      own replicas' parts.
    - "data_parallel" (JAX backend): `keras.distribution.DataParallel` over
      every JAX device (or `devices`, e.g. `["gpu:0", "gpu:1"]`), set as the
      global distribution for the duration of the scope and restored on exit.
      Under JAX, `fit` must run inside the scope, where the batches are split
      across the devices (so every batch, in `evaluate` and `predict` too,
      must divide evenly). After the scope the trained model evaluates and
      predicts batches of any size. For several machines,
      set `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's "host:port"),
      `KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` on
      each process: the scope then calls `keras.distribution.initialize()`
      (JAX's multi-process runtime) before the first JAX computation, and
      Keras gives each process its shard of every global batch.

    PyTorch: Keras has no distribution support for the torch backend; every
    strategy other than "none" raises.

    Args:
        name: one of `STRATEGIES`, or None (no distribution).
        devices: optional devices of this machine for "mirrored" or
            "data_parallel"; default every visible accelerator.

    Yields:
        The engine: a `tf.distribute.Strategy`, a
        `keras.distribution.DataParallel`, or None for "none".

    Raises:
        ValueError: the name is unknown, the strategy needs another Keras
            backend, `devices` is given to "multi_worker", or `TF_CONFIG` is
            missing or malformed for "multi_worker".
        RuntimeError: "multi_worker" is opened after TensorFlow has started
            its runtime in this process, or multi-process "data_parallel"
            after JAX has computed something.

    Example:

    ```python
    from keras_umdf.distribution import distribution_scope

    with distribution_scope("mirrored"):  # "data_parallel" under JAX
        train = make_dataset(data["train"], training=True, batch_size=64,
                             seed=0, drop_remainder=True)
        model = keras_umdf.UMDF(data.modality_dims)
        model.compile()
        model.fit(train, epochs=10)
    ```
    """
    name = check_strategy_name(name)
    if name == "none":
        yield None
        return
    if name == "data_parallel":
        from keras_umdf.backend.jax.data_parallel import data_parallel

        distribution = data_parallel(devices)
        with distribution.scope():
            yield distribution
        return
    from keras_umdf.backend.tensorflow.strategies import strategy

    engine = strategy(name, devices)
    with engine.scope():
        yield engine


def check_strategy_name(name: str | None) -> str:
    """Checks that strategy `name` exists and runs on the current Keras backend.

    Args:
        name: one of `STRATEGIES`, or None.

    Returns:
        The name, "none" for None.

    Raises:
        ValueError: the name is unknown or needs another backend; the message
            names the backend and the strategies that work on it.
    """
    if name is None:
        return "none"
    if not isinstance(name, str) or name.lower() not in STRATEGIES:
        raise ValueError(
            f"Unknown distribution strategy {name!r}; choose one of "
            f"{list(STRATEGIES)} (or None for no distribution)."
        )
    name = name.lower()
    if name == "none":
        return name
    backend = keras.backend.backend()
    needed = _ENGINE_BACKEND[name]
    if backend == needed:
        return name
    if backend not in _ALTERNATIVE:
        raise ValueError(
            f"Distribution strategy {name!r} needs KERAS_BACKEND={needed}, and "
            f"Keras has no distributed training for the {backend!r} backend. "
            "Train on one device (strategy 'none'), or switch backend: "
            "KERAS_BACKEND=tensorflow with 'mirrored' or 'multi_worker', "
            "KERAS_BACKEND=jax with 'data_parallel'."
        )
    raise ValueError(
        f"Distribution strategy {name!r} needs KERAS_BACKEND={needed}, but the "
        f"backend is {backend!r}. On {backend} use {_ALTERNATIVE[backend]}, or "
        f"set KERAS_BACKEND={needed} before importing Keras."
    )


def scale_loss_for_replicas(loss):
    """Scales a per-replica mean loss to `tf.distribute`'s convention.

    Under a `tf.distribute` strategy each replica returns its loss and the
    replicas' gradients are summed. A loss that is the mean over the replica's
    batch must therefore be divided by the number of replicas in sync, so that
    the summed gradient is the gradient of the mean over the global batch (as
    Keras's own losses do). Keras's training step multiplies the reported loss
    back. Elsewhere (one device, JAX, torch) the loss is returned unchanged.

    Args:
        loss: scalar float tensor, a mean over this replica's batch.

    Returns:
        `loss / num_replicas_in_sync` under TensorFlow, `loss` otherwise.
    """
    if keras.backend.backend() != "tensorflow":
        return loss
    from keras_umdf.backend.tensorflow.strategies import replicas_in_sync

    replicas = replicas_in_sync()
    if replicas == 1:
        return loss
    return loss * keras.ops.cast(1.0 / replicas, loss.dtype)
