"""Measures one UMDF configuration in this process (a child of `run.py`).

Keras fixes its backend at import, so `run.py` starts one process per
configuration with `KERAS_BACKEND` set and the configuration as JSON:

    KERAS_BACKEND=jax python -m benchmarks.measure_umdf '{"batch_size": 16, ...}'

Trains on one fixed two-view batch of synthetic data of the real shapes (the
model's cost does not depend on the values; the input pipeline is measured
apart by `measure_pipeline.py`), then predicts on one one-view batch. Each phase
is timed after a warm-up (the first call traces or compiles; its time is
reported as `first_*_s`) for at least `min_steps` steps and `*_seconds`
seconds. Prints one `RESULT {json}` line.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import time

from benchmarks.timing import timed

DEFAULTS = {
    "precision": "float32",
    "batch_size": 16,
    "jit_compile": "auto",
    "modality_dims": {"text": 300, "audio": 74, "vision": 35},
    "length": 50,
    "hidden_dim": 40,
    "num_heads": 10,
    "num_layers": 4,
    "dropout": None,
    "heads_per_chunk": None,
    "train_seconds": 10.0,
    "infer_seconds": 4.0,
    "min_steps": 2,
    "seed": 0,
}


TINY = {
    "modality_dims": {"text": 12, "audio": 6, "vision": 4},
    "length": 6,
    "hidden_dim": 8,
    "num_heads": 2,
    "num_layers": 1,
}
"""A toy architecture (`--architecture tiny`), for the tests of the benchmarks."""


def add_model_arguments(parser, threads_help: str) -> None:
    """The options `run.py` and `profile_step.py` share: --architecture,
    --dropout and --threads."""
    import os

    parser.add_argument(
        "--architecture",
        choices=("paper", "tiny"),
        default="paper",
        help="paper: the paper's MOSI configuration; tiny: a toy model (tests)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        help="the model's dropout, and the PyTorch peer's (default: UMDF's own, 0.1)",
    )
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help=threads_help
    )


def architecture(args) -> dict:
    """The architecture `--architecture` asks for, as overrides of `DEFAULTS`."""
    return dict(TINY) if args.architecture == "tiny" else {}


def check_model_arguments(parser, args) -> None:
    """Refuses a `--dropout` outside [0, 1) with a message naming it."""
    if args.dropout is not None and not 0.0 <= args.dropout < 1.0:
        parser.error(f"--dropout must be in [0, 1); received {args.dropout}")


def rss_mb() -> float:
    """This process's resident set size now, MB, from /proc (Linux)."""
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, MB (Linux)."""
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_json_path(parser, args) -> None:
    """Refuses a `--json` file that exists unless `--overwrite` is given."""
    if args.json and os.path.exists(args.json) and not args.overwrite:
        parser.error(
            f"{args.json} already exists; choose a new --json path or pass "
            "--overwrite to replace it"
        )


def write_json(path: str | None, figures: dict) -> None:
    """Writes a profiling script's figures to `--json` (checked new), if given."""
    if path:
        with open(path, "w") as file:
            json.dump(figures, file, indent=2)
        print(f"figures written to {path}")


def tensorflow_float32_model(args, script: str, reads: str) -> tuple:
    """The float32 UMDF of a TensorFlow profiling script and its batch.

    Imports keras_umdf before keras (TensorFlow then loads with the package's
    default oneDNN setting, `keras_umdf.onednn`, as in the benchmark), refuses
    another Keras backend with the fix, and builds the benchmark's model at
    `--architecture`, `--batch-size`, `--dropout` and, where the script has
    it, `--num-heads`.

    Args:
        args: the script's parsed arguments.
        script: its file name, for the message.
        reads: what it reads of TensorFlow, for the message.

    Returns:
        (config, model, x, y).
    """
    import keras_umdf  # noqa: F401, I001

    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise SystemExit(
            f"{script} {reads}, but the Keras backend is {backend!r}; run it "
            "with KERAS_BACKEND=tensorflow."
        )
    config = {
        **DEFAULTS,
        **architecture(args),
        "batch_size": args.batch_size,
        "dropout": args.dropout,
    }
    if getattr(args, "num_heads", None) is not None:
        config["num_heads"] = args.num_heads
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(config["seed"])
    x, y, _ = synthetic_data(config)
    return config, build_model(config), x, y


def measure(config: dict) -> dict:
    config = {**DEFAULTS, **config}
    # keras_umdf before keras, as the `keras-umdf` commands do: TensorFlow then
    # loads with the package's default oneDNN setting (keras_umdf.onednn).
    import keras_umdf  # noqa: F401, I001

    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend == "torch":
        from benchmarks.threads import pin_torch_threads

        pin_torch_threads()
    keras.config.set_dtype_policy(config["precision"])
    keras.utils.set_random_seed(config["seed"])
    if config["heads_per_chunk"]:
        # Read when the step is traced, so set before the first step.
        from keras_umdf.backend.tensorflow import attention

        attention.HEADS_PER_CHUNK = config["heads_per_chunk"]
    x, y, test_view = synthetic_data(config)
    batch = config["batch_size"]
    start = time.perf_counter()
    model = build_model(config)
    build_s = time.perf_counter() - start
    result = {
        "backend": backend,
        "keras": keras.__version__,
        "build_s": build_s,
        "jit_compile": bool(model.jit_compile),
        "params": int(model.count_params()),
    }
    losses = []

    def train_step():
        logs = model.train_on_batch(x, y, return_dict=True)
        losses.append(float(logs["loss"]))

    first, times = timed(train_step, config["train_seconds"], config["min_steps"])
    result.update(
        first_train_step_s=first,
        train_step_s=times,
        train_samples_per_s=batch * len(times) / sum(times),
        loss_finite=all(math.isfinite(v) for v in losses),
        last_loss=losses[-1],
    )
    predictions = []

    def infer_step():
        predictions.append(model.predict_on_batch(test_view))

    first, times = timed(infer_step, config["infer_seconds"], config["min_steps"])
    last = np.asarray(predictions[-1])
    result.update(
        first_infer_step_s=first,
        infer_step_s=times,
        infer_samples_per_s=batch * len(times) / sum(times),
        prediction_dtype=str(last.dtype),
        prediction_finite=bool(np.isfinite(last).all()),
    )
    result["device"] = _device(backend)
    result["float32_matmul"] = _float32_matmul(backend, result["device"])
    if backend == "tensorflow":
        from keras_umdf.onednn import onednn_enabled

        result["onednn"] = onednn_enabled()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def synthetic_data(config: dict) -> tuple[dict, object, dict]:
    """The fixed batches of a run: (two-view training inputs, targets, one view).

    Standard-normal features of the configuration's shapes, drawn from
    `config["seed"]`; the model's cost does not depend on the values.
    """
    import keras
    import numpy as np

    config = {**DEFAULTS, **config}
    batch, length = config["batch_size"], config["length"]
    dims = config["modality_dims"]
    rng = np.random.default_rng(config["seed"])

    def view():
        return {
            m: keras.ops.convert_to_tensor(
                rng.standard_normal((batch, length, d), dtype=np.float32)
            )
            for m, d in dims.items()
        }

    x = {"view_a": view(), "view_b": view()}
    y = keras.ops.convert_to_tensor(rng.standard_normal((batch, 1), np.float32))
    return x, y, view()


def build_model(config: dict):
    """UMDF at the configuration's architecture, compiled with the library's
    own Adam at 1e-3 without warm-up (`keras_umdf.optimizers.adam`: what
    `model.compile()` builds, and the peer's plain Adam)."""

    import keras_umdf

    config = {**DEFAULTS, **config}
    kwargs = {
        "hidden_dim": config["hidden_dim"],
        "num_heads": config["num_heads"],
        "num_layers": config["num_layers"],
    }
    if config["dropout"] is not None:
        kwargs["dropout"] = config["dropout"]
    model = keras_umdf.UMDF(config["modality_dims"], **kwargs)
    compile_kwargs = {"optimizer": keras_umdf.optimizers.adam(1e-3, warmup_steps=0)}
    if config["jit_compile"] != "default":
        compile_kwargs["jit_compile"] = config["jit_compile"]
    model.compile(**compile_kwargs)
    return model


def _device(backend: str) -> str:
    """The accelerator the backend computes on, or "cpu"."""
    if backend == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
        return "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else "cpu"


def _float32_matmul(backend: str, device: str) -> str:
    """How the backend computes float32 matrix products on `device`.

    On NVIDIA GPUs XLA (JAX, TensorFlow with XLA) uses TF32 for float32 dots by
    default; PyTorch keeps full float32 unless `allow_tf32` is set.
    """
    if device == "cpu":
        return "float32"
    if backend == "jax":
        import jax

        setting = jax.config.jax_default_matmul_precision
        if setting:
            return f"jax_default_matmul_precision={setting}"
        return "XLA default (TF32 on NVIDIA GPUs)"
    if backend == "torch":
        import torch

        return f"torch '{torch.get_float32_matmul_precision()}'"
    import tensorflow as tf

    if tf.config.experimental.tensor_float_32_execution_enabled():
        return "TensorFlow default (TF32 on NVIDIA GPUs)"
    return "float32 (TF32 disabled)"


if __name__ == "__main__":
    print("RESULT " + json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
