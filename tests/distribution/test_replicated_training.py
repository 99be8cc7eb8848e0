"""Data-parallel training equals single-device training on the same global batches.

Each replicated run is a child process (see `replicated_training.py`), since the
devices must be configured before TensorFlow or JAX starts: MirroredStrategy
over two logical CPUs, MultiWorkerMirroredStrategy over two worker processes on
127.0.0.1, JAX DataParallel over two host devices. The children set their own
backend, so each test runs under one backend of the suite only.
"""

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.distribution import replicated_training as rt

SCRIPT = os.path.abspath(rt.__file__)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(SCRIPT)))
TIMEOUT = 400
HALF = rt.GLOBAL_BATCH // rt.REPLICAS


def child_env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", **extra)
    for name in ("TF_CONFIG", "XLA_FLAGS", "KERAS_BACKEND"):
        if name not in extra:
            env.pop(name, None)
    return env


def run_child(*args, env: dict) -> None:
    result = subprocess.run(
        [sys.executable, SCRIPT, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def assert_weights_close(actual, expected, start):
    assert len(actual) == len(expected) == len(start)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5)
    # Training moved the weights, so the comparison says something.
    moved = max(
        float(np.abs(e - s).max()) for e, s in zip(expected, start, strict=True)
    )
    assert moved > 1e-2, moved


def assert_histories_close(actual: dict, expected: dict):
    assert sorted(actual) == sorted(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(actual[name], values, rtol=1e-4, err_msg=name)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The single-device TensorFlow run that the replicated ones must match,
    trained in this process on its CPU, like the children (a GPU's TF32
    matmuls would differ by more than the tolerance); its initial weights go to
    the children."""
    import tensorflow as tf

    with tf.device("/CPU:0"):
        run = rt.train(
            None, lambda_fea=0.0, skip_iterations=rt.TF_STRATEGY_EXTRA_ITERATIONS
        )
    directory = tmp_path_factory.mktemp("reference")
    path = str(directory / "start.npz")
    rt.save(path, {"start": run["start"]}, {})
    shards = str(directory / "shards")
    rt.write_tiny_shards(shards)
    return dict(
        run,
        path=path,
        shards=shards,
        batches=rt.global_batches(),
        shards_batches=rt.global_batches(rt.shards_dataset(shards)),
    )


def assert_replicas_split_each_global_batch(replica_labels, text, mask, batches):
    """Replica r of every global batch holds exactly the r-th slice of it, masks
    included: the batch is split, not duplicated or redrawn."""
    assert len(replica_labels) == len(batches["labels"]) == 2
    flat = 0
    for step, (parts, whole) in enumerate(
        zip(replica_labels, batches["labels"], strict=True)
    ):
        assert len(parts) == rt.REPLICAS
        seen = [label for part in parts for label in part]
        assert len(set(seen)) == rt.GLOBAL_BATCH  # distinct samples
        for r, part in enumerate(parts):
            np.testing.assert_array_equal(part, whole[r * HALF : (r + 1) * HALF])
            rows = slice(r * HALF, (r + 1) * HALF)
            np.testing.assert_array_equal(text[flat], batches["text"][step][rows])
            np.testing.assert_array_equal(mask[flat], batches["mask"][step][rows])
            flat += 1


@pytest.mark.slow
@pytest.mark.tf_only
def test_mirrored_over_two_cpus_matches_one_device(reference, tmp_path):
    out = str(tmp_path / "mirrored.npz")
    run_child("mirrored", out, env=child_env(REFERENCE_START=reference["path"]))
    arrays, info = rt.load(out)

    assert info["replicas"] == 2 and info["logical_cpus"] == 2
    assert [d.rsplit(":", 2)[-2:] for d in info["devices"]] == [
        ["CPU", "0"],
        ["CPU", "1"],
    ]
    assert info["model_strategy"] == "MirroredStrategy"
    assert info["variable_copies"] == 2
    assert_replicas_split_each_global_batch(
        info["replica_labels"],
        arrays["replica_text"],
        arrays["replica_mask"],
        reference["batches"],
    )
    assert_weights_close(arrays["final"], reference["final"], reference["start"])
    # The logged loss is the global batch's, not the sum over replicas.
    assert_histories_close(info["history"], reference["history"])
    # Documented semantics: the MMD term is each replica's, averaged.
    assert info["fea_replicated"] == pytest.approx(info["fea_halves"], rel=1e-4)


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_workers(tmp_path, env: dict) -> list[str]:
    """Runs both workers to the end; never leaves one behind."""
    ports = ",".join(str(p) for p in free_ports(2))
    outs = [str(tmp_path / f"worker{index}.npz") for index in range(2)]
    logs = [tmp_path / f"worker{index}.log" for index in range(2)]
    workers = []
    try:
        for index in range(2):
            with open(logs[index], "w") as log:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, SCRIPT, "multi_worker", outs[index]]
                        + [str(index), ports],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
        deadline = time.monotonic() + TIMEOUT
        # A worker that fails leaves the other waiting on a collective: stop then.
        while time.monotonic() < deadline:
            codes = [worker.poll() for worker in workers]
            if all(code == 0 for code in codes) or any(code for code in codes):
                break
            time.sleep(0.5)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    for index, worker in enumerate(workers):
        assert worker.returncode == 0, (
            f"worker {index} exited with {worker.returncode}:\n"
            + logs[index].read_text()[-4000:]
        )
    return outs


@pytest.mark.slow
@pytest.mark.tf_only
def test_multi_worker_over_two_processes_matches_one_device(reference, tmp_path):
    env = child_env(REFERENCE_START=reference["path"], SHARDS_DIR=reference["shards"])
    outs = run_workers(tmp_path, env)
    results = [rt.load(out) for out in outs]

    global_labels = reference["batches"]["labels"]
    for index, (arrays, info) in enumerate(results):
        assert info["replicas"] == 2
        assert info["model_strategy"] == "KerasMultiWorkerMirroredStrategy"
        # Every worker built the same global batches (same shuffle and masks)
        # and kept its own slice: worker i holds slice i of every batch.
        rows = slice(index * HALF, (index + 1) * HALF)
        for step, parts in enumerate(info["replica_labels"]):
            assert len(parts) == 1  # one CPU replica per worker
            assert len(set(global_labels[step])) == rt.GLOBAL_BATCH
            np.testing.assert_array_equal(parts[0], global_labels[step][rows])
            batches = reference["batches"]
            np.testing.assert_array_equal(
                arrays["replica_text"][step], batches["text"][step][rows]
            )
            np.testing.assert_array_equal(
                arrays["replica_mask"][step], batches["mask"][step][rows]
            )
        # Streaming from TFRecord shards too: sharded by data, not by file.
        shards_labels = reference["shards_batches"]["labels"]
        for step, parts in enumerate(info["shards_replica_labels"]):
            np.testing.assert_array_equal(parts[0], shards_labels[step][rows])
        assert len(info["shards_replica_labels"]) == len(shards_labels) == 2
        assert_weights_close(arrays["final"], reference["final"], reference["start"])
        assert_histories_close(info["history"], reference["history"])


@pytest.mark.slow
@pytest.mark.only_backend("jax")
def test_data_parallel_over_two_host_devices_matches_one_device(tmp_path):
    out = str(tmp_path / "data_parallel.npz")
    run_child("data_parallel", out, env=child_env())
    arrays, info = rt.load(out)

    assert len(info["devices"]) == 2
    # The weights live (replicated) on both devices, and each holds a shard.
    assert info["variable_devices"] == sorted(info["devices"])
    assert sorted(info["shard_devices"]) == sorted(info["devices"])
    # Keras puts the first half of each global batch on device 0, the second
    # half on device 1.
    whole = info["global_labels"]
    assert len(whole) == rt.GLOBAL_BATCH
    assert info["shard_labels"] == [whole[:HALF], whole[HALF:]]
    # lambda_fea = 1: under JAX even the MMD term is the global batch's.
    assert_weights_close(arrays["final"], arrays["single"], arrays["start"])
    assert "fea_loss" in info["history"]
    assert_histories_close(info["history"], info["single_history"])
