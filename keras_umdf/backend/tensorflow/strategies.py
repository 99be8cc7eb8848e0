"""The `tf.distribute` strategies of `keras_umdf.distribution` ("mirrored",
"multi_worker") and the replica count of a TensorFlow step."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

# One tf.distribute strategy per (name, devices) and process: a model must be
# built, compiled and fit under the same strategy object, and TensorFlow allows
# only one MultiWorkerMirroredStrategy per process.
_STRATEGIES: dict[tuple, Any] = {}


def strategy(name: str, devices: Sequence[str] | None):
    """The process's strategy `name` ("mirrored" or "multi_worker"), created
    on first use.

    Raises:
        ValueError: `devices` is given to "multi_worker", or `TF_CONFIG` is
            missing or malformed.
        RuntimeError: "multi_worker" after TensorFlow started its runtime.
    """
    if name == "multi_worker":
        if devices is not None:
            raise ValueError(
                "'multi_worker' takes the replicas from TF_CONFIG and every "
                f"GPU of each worker; received devices={list(devices)!r}. Set "
                "CUDA_VISIBLE_DEVICES on a worker to restrict its GPUs, or use "
                "'mirrored' for chosen devices of one machine."
            )
        key = (name,)
        if key not in _STRATEGIES:
            check_tf_config()
            try:
                created = KerasMultiWorkerMirroredStrategy()
            except RuntimeError as error:
                raise RuntimeError(
                    "MultiWorkerMirroredStrategy must be created before "
                    "TensorFlow starts its runtime in this process; open "
                    "distribution_scope('multi_worker') first, before "
                    f"make_dataset or any other TensorFlow work ({error})."
                ) from error
            _STRATEGIES[key] = created
        return _STRATEGIES[key]
    devices = None if devices is None else tuple(devices)
    key = (name, devices)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = tf.distribute.MirroredStrategy(
            devices=None if devices is None else list(devices)
        )
    return _STRATEGIES[key]


def replicas_in_sync() -> int:
    """The replicas of the active `tf.distribute` strategy (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` adapted to Keras 3 and keras_umdf's pipelines.

    - Keras 3's TensorFlow trainer calls `strategy.reduce` in two ways that
      `MultiWorkerMirroredStrategy.reduce` rejects, so that `fit` fails for
      every model: on a whole nested (x, y) batch, to build the model before
      training (keras-team/keras#20329), and with `axis=0` on the scalar logs
      of every step ("Invalid reduction dimension 0 for input with 0
      dimensions", tensorflow/tensorflow#72388). This `reduce` reduces each
      value of a nest on its own, and a scalar over the replicas only (a
      scalar has no axis 0; the logs are already synchronised metric results).
    - A dataset whose auto-shard policy is AUTO is sharded by DATA: every
      worker computes every global batch and keeps its replicas' parts. The
      pipelines of `keras_umdf.data` key every batch by (seed, epoch, batch
      index), so all workers compute the same global batches; AUTO would
      shard the TFRecord files of `make_dataset_from_shards` between the
      workers instead, which fails or gives the workers different batches.
      A policy set on the dataset is kept.

    Otherwise it is the TensorFlow class, unchanged.
    """

    def reduce(self, reduce_op, value, axis=None):
        parent = super()

        def reduce_one(v):
            local = self.experimental_local_results(v)[0]
            rank = getattr(getattr(local, "shape", None), "rank", None)
            return parent.reduce(reduce_op, v, axis=None if rank == 0 else axis)

        return tf.nest.map_structure(reduce_one, value)

    def experimental_distribute_dataset(self, dataset, options=None):
        auto = tf.data.experimental.AutoShardPolicy.AUTO
        if (
            isinstance(dataset, tf.data.Dataset)
            and dataset.options().experimental_distribute.auto_shard_policy == auto
        ):
            by_data = tf.data.Options()
            by_data.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            dataset = dataset.with_options(by_data)
        return super().experimental_distribute_dataset(dataset, options)


def check_tf_config() -> dict:
    """The cluster of the `TF_CONFIG` environment variable, checked.

    Raises:
        ValueError: `TF_CONFIG` is missing, not JSON, or without a valid task.
    """
    raw = os.environ.get("TF_CONFIG")
    example = (
        'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    if not raw:
        raise ValueError(
            "'multi_worker' reads the cluster from the TF_CONFIG environment "
            f"variable, which is not set. Set it on every worker, e.g. {example} "
            "(index 1 on the second worker), or use 'mirrored' on one machine."
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({error}); received TF_CONFIG={raw!r}. "
            f"Expected e.g. {example}."
        ) from error
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if (
        not isinstance(cluster, dict)
        or not isinstance(task, dict)
        or task.get("type") not in cluster
        or not isinstance(task.get("index"), int)
        or not 0 <= task["index"] < len(cluster[task["type"]])
    ):
        raise ValueError(
            "TF_CONFIG must give the cluster's addresses and this worker's task, "
            f"with a task type in the cluster and an index within it; received "
            f"TF_CONFIG={raw!r}. Expected e.g. {example}."
        )
    return config
