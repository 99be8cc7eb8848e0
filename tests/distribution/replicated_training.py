"""Trains a tiny UMDF replicated, in a child process of the distribution tests.

The engines must be configured before TensorFlow or JAX start their runtime (two
logical CPU devices, the XLA host device count, TF_CONFIG), so each replicated
run is a child Python process:

    python replicated_training.py mirrored OUT.npz
    python replicated_training.py multi_worker OUT.npz INDEX PORT0,PORT1
    python replicated_training.py data_parallel OUT.npz

Each writes to OUT.npz the initial and final weights of its runs, their `fit`
histories, and what each local replica received from the two-view pipeline.
The single-device reference of the TensorFlow runs is `train(None, ...)` in the
test process; the JAX child runs its own. Every run starts from the same weights
and trains with plain SGD on the same global batches of `make_dataset`.
"""

from __future__ import annotations

import json
import os
import sys

SAMPLES = 16
GLOBAL_BATCH = 8
EPOCHS = 2
TIME = 6
DIMS = {"text": 5, "audio": 4}
REPLICAS = 2
# Keras's TensorFlow trainer draws one batch to build the model before training
# under a tf.distribute strategy, which starts one iteration of make_dataset (an
# epoch of its masks); the single-device reference skips one iteration likewise.
TF_STRATEGY_EXTRA_ITERATIONS = 1
# TensorFlow traces this model's train step for a long time on a CPU, and more
# under a strategy (once per replica); eager steps are quicker for these few
# steps and go through the same strategy calls in Keras's trainer. The tests
# pass on the compiled path too: run them with TF_RUN_EAGERLY=0.
TF_RUN_EAGERLY = os.environ.get("TF_RUN_EAGERLY", "1") == "1"


def set_up_devices(mode: str) -> None:
    """Two replicas on a CPU, before TensorFlow or JAX is imported."""
    if mode == "data_parallel":
        os.environ["KERAS_BACKEND"] = "jax"
        os.environ["JAX_PLATFORMS"] = "cpu"
        # Two host devices; cheaper XLA optimisation (compilation is most of
        # the run time on a CPU, the numbers are the same).
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "")
            + f" --xla_force_host_platform_device_count={REPLICAS}"
            + " --xla_backend_optimization_level=0"
            + " --xla_llvm_disable_expensive_passes=true"
        )
        return
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    if mode == "mirrored":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS
        )


def tiny_split():
    """Random features and distinct labels in [-1.5, 1.5]: a label names its
    sample."""
    import numpy as np

    from keras_umdf.data import Split

    rng = np.random.default_rng(0)
    features = {
        m: rng.normal(size=(SAMPLES, TIME, d)).astype("float32")
        for m, d in DIMS.items()
    }
    labels = (np.arange(SAMPLES, dtype="float32") - 7.5) / 5
    return Split(features, labels, np.arange(SAMPLES).astype(str))


def train_dataset():
    from keras_umdf.data.pipeline import make_dataset

    return make_dataset(
        tiny_split(),
        training=True,
        batch_size=GLOBAL_BATCH,
        seed=0,
        drop_remainder=True,
    )


def shards_dataset(directory: str):
    """The same split streamed from TFRecord shards (4 files)."""
    from keras_umdf.data.shards import make_dataset_from_shards

    return make_dataset_from_shards(
        directory,
        training=True,
        batch_size=GLOBAL_BATCH,
        seed=0,
        drop_remainder=True,
    )


def write_tiny_shards(directory: str) -> None:
    from keras_umdf.data.shards import write_shards

    write_shards(tiny_split(), directory, samples_per_shard=SAMPLES // 4)


def tiny_umdf(lambda_fea: float):
    import keras_umdf

    return keras_umdf.UMDF(
        DIMS,
        hidden_dim=8,
        num_heads=2,
        num_layers=1,
        dropout=0.0,
        lambda_fea=lambda_fea,
        lambda_logits=1.0,
    )


def train(
    name: str | None,
    *,
    lambda_fea: float,
    initial_weights=None,
    skip_iterations: int = 0,
) -> dict:
    """Builds, compiles and fits a tiny UMDF inside `distribution_scope(name)`.

    SGD, not Adam: Adam's step hardly depends on the gradient's scale, so it
    would hide gradients summed over replicas without the 1 / replicas scaling.

    Returns:
        A dict with the model, its initial and final weights and the history.
    """
    import keras

    from keras_umdf.distribution import distribution_scope

    with distribution_scope(name):
        dataset = train_dataset()
        for _ in range(skip_iterations):
            next(iter(dataset))
        keras.utils.set_random_seed(1)
        model = tiny_umdf(lambda_fea)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        start = [w.copy() for w in model.get_weights()]
        model.compile(
            optimizer=keras.optimizers.SGD(0.05),
            run_eagerly=TF_RUN_EAGERLY and keras.backend.backend() == "tensorflow",
        )
        history = model.fit(dataset, epochs=EPOCHS, shuffle=False, verbose=0)
    return {
        "model": model,
        "start": start,
        "final": model.get_weights(),
        "history": history.history,
    }


def global_batches(dataset=None) -> dict:
    """Every batch of one iteration of a pipeline (default `train_dataset()`),
    on one device."""
    labels, text, mask = [], [], []
    for x, y in train_dataset() if dataset is None else dataset:
        labels.append(y.numpy().ravel().tolist())
        text.append(x["view_a"]["text"].numpy())
        mask.append(x["view_a"]["text_mask"].numpy())
    return {"labels": labels, "text": text, "mask": mask}


def tf_replica_batches(strategy, dataset=None) -> dict:
    """What each local replica receives in every batch of one iteration of a
    pipeline (default `train_dataset()`).

    Keras's TensorFlow trainer distributes a dataset with
    `strategy.experimental_distribute_dataset`, as here. Returns, per batch
    and local replica, the labels, and view a's text features and mask.
    """
    labels, text, mask = [], [], []
    dataset = train_dataset() if dataset is None else dataset
    for x, y in strategy.experimental_distribute_dataset(dataset):
        local = strategy.experimental_local_results
        labels.append([t.numpy().ravel().tolist() for t in local(y)])
        text.extend(t.numpy() for t in local(x["view_a"]["text"]))
        mask.extend(t.numpy() for t in local(x["view_a"]["text_mask"]))
    return {"labels": labels, "text": text, "mask": mask}


def save(path: str, arrays: dict, info: dict) -> None:
    """Lists of arrays as `key/i` entries, `info` as JSON."""
    import numpy as np

    flat = {"info": np.asarray(json.dumps(info))}
    for key, values in arrays.items():
        for i, value in enumerate(values):
            flat[f"{key}/{i}"] = value
    np.savez(path, **flat)


def load(path: str) -> tuple[dict, dict]:
    """Reads `save`'s file: (lists of arrays by key, info)."""
    import numpy as np

    with np.load(path) as data:
        info = json.loads(str(data["info"]))
        arrays: dict = {}
        for name in data.files:
            if "/" in name:
                key, index = name.rsplit("/", 1)
                arrays.setdefault(key, {})[int(index)] = data[name]
    return {k: [v[i] for i in sorted(v)] for k, v in arrays.items()}, info


def per_replica_mmd(model, strategy, single: bool) -> float:
    """The fea_loss of one global batch: evaluated under `strategy`
    (single=False), or on one device as the mean of the MMDs of the replicas'
    halves (single=True)."""
    import numpy as np
    from keras import ops

    from keras_umdf.losses import maximum_mean_discrepancy

    x, y = next(iter(train_dataset()))
    if not single:
        model.compile(optimizer="sgd", run_eagerly=True)
        return float(model.evaluate(x, y, verbose=0, return_dict=True)["fea_loss"])
    out = model(x, training=False)
    half = GLOBAL_BATCH // REPLICAS
    values = [
        ops.convert_to_numpy(
            maximum_mean_discrepancy(
                out["h_a"][r * half : (r + 1) * half],
                out["h_b"][r * half : (r + 1) * half],
            )
        )
        for r in range(REPLICAS)
    ]
    return float(np.mean(values))


def run_mirrored(out: str) -> None:
    import tensorflow as tf

    from keras_umdf.distribution import distribution_scope

    from_file = os.environ.get("REFERENCE_START")
    start = load(from_file)[0]["start"] if from_file else None
    run = train("mirrored", lambda_fea=0.0, initial_weights=start)
    with distribution_scope("mirrored") as strategy:
        replicas = tf_replica_batches(strategy)
        # The MMD term under the strategy: each replica's on its own batch.
        with_mmd = tiny_umdf(lambda_fea=1.0)
        with_mmd.set_weights(run["final"])
        fea_replicated = per_replica_mmd(with_mmd, strategy, single=False)
    fea_halves = per_replica_mmd(with_mmd, strategy, single=True)
    variable = run["model"].trainable_variables[0].value
    save(
        out,
        {
            "start": run["start"],
            "final": run["final"],
            "replica_text": replicas["text"],
            "replica_mask": replicas["mask"],
        },
        {
            "replicas": strategy.num_replicas_in_sync,
            "devices": list(strategy.extended.worker_devices),
            "logical_cpus": len(tf.config.list_logical_devices("CPU")),
            "model_strategy": type(run["model"].distribute_strategy).__name__,
            "variable_copies": len(getattr(variable, "values", ())),
            "replica_labels": replicas["labels"],
            "history": run["history"],
            "fea_replicated": fea_replicated,
            "fea_halves": fea_halves,
        },
    )


def run_multi_worker(out: str, index: int, ports: list[int]) -> None:
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index},
        }
    )
    from keras_umdf.distribution import distribution_scope

    # MultiWorkerMirroredStrategy must exist before TensorFlow's runtime starts:
    # open the scope first, as the README says.
    with distribution_scope("multi_worker") as strategy:
        pass
    from_file = os.environ.get("REFERENCE_START")
    start = load(from_file)[0]["start"] if from_file else None
    run = train("multi_worker", lambda_fea=0.0, initial_weights=start)
    with distribution_scope("multi_worker") as strategy:
        replicas = tf_replica_batches(strategy)
        from_shards = tf_replica_batches(
            strategy, shards_dataset(os.environ["SHARDS_DIR"])
        )
    save(
        out,
        {
            "final": run["final"],
            "replica_text": replicas["text"],
            "replica_mask": replicas["mask"],
        },
        {
            "replicas": strategy.num_replicas_in_sync,
            "model_strategy": type(run["model"].distribute_strategy).__name__,
            "replica_labels": replicas["labels"],
            "shards_replica_labels": from_shards["labels"],
            "history": run["history"],
        },
    )


def run_data_parallel(out: str) -> None:
    import jax
    import keras
    import numpy as np

    # lambda_fea > 0: under JAX the MMD is over the global batch, as on one
    # device, so even this term matches.
    single = train(None, lambda_fea=1.0)
    run = train("data_parallel", lambda_fea=1.0, initial_weights=single["start"])
    variable = run["model"].trainable_variables[0].value
    # How Keras's JAX trainer places a global batch: DataParallel's data layout
    # splits the first axis over the devices.
    distribution = keras.distribution.DataParallel()
    batches = global_batches()
    labels = np.asarray(batches["labels"][0], "float32")
    placed = keras.distribution.distribute_tensor(
        labels, distribution.get_data_layout(labels.shape)
    )
    shards = sorted(placed.addressable_shards, key=lambda s: s.device.id)
    save(
        out,
        {
            "start": single["start"],
            "single": single["final"],
            "final": run["final"],
        },
        {
            "devices": [str(d) for d in jax.devices()],
            "variable_devices": sorted(str(d) for d in variable.sharding.device_set),
            "shard_devices": [str(s.device) for s in shards],
            "shard_labels": [np.asarray(s.data).ravel().tolist() for s in shards],
            "global_labels": labels.tolist(),
            "single_history": single["history"],
            "history": run["history"],
        },
    )


def main(argv: list[str]) -> None:
    mode, out = argv[0], argv[1]
    set_up_devices(mode)
    if mode == "mirrored":
        run_mirrored(out)
    elif mode == "multi_worker":
        run_multi_worker(out, int(argv[2]), [int(p) for p in argv[3].split(",")])
    elif mode == "data_parallel":
        run_data_parallel(out)
    else:
        raise ValueError(f"Unknown mode {mode!r}.")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    main(sys.argv[1:])
