"""The command line of `python -m benchmarks.run`: presets, options, the plan.

`parse_args` turns the options (and a preset's defaults) into the settings of
one invocation; `configurations` and `planned` say which keras_umdf runs each
round holds; `config_label` names a run in the tables.
"""

from __future__ import annotations

import argparse
import itertools
import sys

from benchmarks.measure_umdf import add_model_arguments
from benchmarks.measure_umdf import check_model_arguments

BACKENDS = ("tensorflow", "jax", "torch")
PRESETS = {
    "quick": {
        "backends": "tensorflow",
        "precisions": "float32",
        "batch_sizes": "16",
        "xla": "off",
        "rounds": 1,
        "train_seconds": 3.0,
        "infer_seconds": 2.0,
        "pipeline_seconds": 2.0,
        "peer_steps": 2,
    },
    # At most about 25 minutes on 2 cores: the default configuration and the peer
    # in 2 interleaved rounds at both batch sizes, every other configuration once,
    # mixed precision at batch 128 only; no run starts after 22 minutes.
    "readme": {
        "backends": "tensorflow,jax,torch",
        "precisions": "float32,mixed_bfloat16",
        "batch_sizes": "16,128",
        "mixed_batch_sizes": "128",
        "xla": "both",
        "rounds": 2,
        "other_rounds": 1,
        "train_seconds": 6.0,
        "infer_seconds": 2.0,
        "pipeline_seconds": 4.0,
        "peer_steps": None,
        "max_minutes": 22.0,
    },
    "gpu": {
        "backends": "jax,torch",
        "precisions": "float32,mixed_bfloat16,mixed_float16",
        "batch_sizes": "16,128",
        "xla": "off",
        "rounds": 3,
        "train_seconds": 5.0,
        "infer_seconds": 3.0,
        "pipeline_seconds": 0.0,
        "peer_steps": None,
    },
}


def parse_args(argv=None, description: str | None = None) -> argparse.Namespace:
    """The settings of one benchmark invocation; `argv` defaults to sys.argv."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a set of defaults: 'readme' (the README's table, about 20-25 minutes "
        "on 2 cores), 'quick' (a smoke run), 'gpu' (JAX and torch on a GPU, float32 "
        "vs mixed precision). Options given explicitly override the preset.",
    )
    parser.add_argument("--quick", action="store_true", help="same as --preset quick")
    parser.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="gpu: JAX and torch backends on the GPU (TensorFlow may be absent on "
        "GPU images), float32 vs mixed_bfloat16 vs mixed_float16, no peer "
        "(it is CPU code); implies --preset gpu unless a preset is given.",
    )
    parser.add_argument("--backends", help="comma-separated: tensorflow,jax,torch")
    parser.add_argument(
        "--precisions",
        help="comma-separated dtype policies: float32,mixed_bfloat16,mixed_float16",
    )
    parser.add_argument("--batch-sizes", help="comma-separated, e.g. 16,128")
    parser.add_argument(
        "--xla",
        choices=("off", "on", "both"),
        help="TensorFlow only: 'off' is Keras's default (jit_compile='auto', which "
        "is False on CPU), 'on' forces jit_compile=True, 'both' runs each.",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (medians)")
    parser.add_argument(
        "--other-rounds",
        type=int,
        help="rounds of every configuration but the first (the default backend "
        "and settings); default: --rounds",
    )
    parser.add_argument(
        "--mixed-batch-sizes",
        help="batch sizes of the mixed-precision configurations; default: "
        "--batch-sizes",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        help="start no further run once this many minutes have passed (the rest "
        "is reported as skipped); default: no limit",
    )
    parser.add_argument("--train-seconds", type=float, help="timed training per run")
    parser.add_argument("--infer-seconds", type=float, help="timed inference per run")
    parser.add_argument(
        "--min-steps",
        type=int,
        default=2,
        help="timed steps per phase at least, after two warm-up steps",
    )
    parser.add_argument(
        "--pipeline-seconds",
        type=float,
        help="timed tf.data pipeline per run; 0 skips it",
    )
    parser.add_argument(
        "--like-peer",
        action="store_true",
        help="add a run of the default backend with dropout=0, the setting of "
        "the peer script in ../shared (--peer-path); the project's own peer has "
        "keras_umdf's dropout",
    )
    parser.add_argument(
        "--heads-per-chunk",
        type=int,
        help="add a run of the default backend whose TensorFlow attention runs "
        "this many heads per chunk (keras_umdf's HEADS_PER_CHUNK; by default "
        "chosen from the shapes and the CPU's cache)",
    )
    add_model_arguments(
        parser, "threads of every library and of the peer (default: all cores)"
    )
    parser.add_argument(
        "--no-peer",
        action="store_true",
        help="run no peer: keras_umdf alone, no ratios",
    )
    parser.add_argument(
        "--peer-path",
        "--peer",
        dest="peer_path",
        help="also run this plain-PyTorch peer script beside the project's own "
        "peer (benchmarks/peer/torch_umdf.py), as a cross-check: it is run as "
        "`python PATH BATCH STEPS` and prints train_samples_per_s=, "
        "infer_samples_per_s= and gemm_fp32_gflops=; e.g. "
        "../shared/perf/torch_reference.py. The ratios stay against the own peer.",
    )
    parser.add_argument(
        "--peer-steps",
        type=int,
        help="timed steps of each peer run (default: the own peer is timed as "
        "keras_umdf is, by --train-seconds and --infer-seconds; a --peer-path "
        "script for about as long)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before one configuration's run is stopped and reported as "
        "timed out (TensorFlow's first step alone traces for 1-2 minutes on 2 "
        "cores)",
    )
    parser.add_argument(
        "--output",
        help="folder for results.json and results.md (default: a new "
        "runs/benchmark-<time>); an existing one needs --overwrite",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace results in an existing --output folder",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the Python that runs each child"
    )
    args = parser.parse_args(argv)
    preset = args.preset or (
        "quick" if args.quick else ("gpu" if args.device == "gpu" else "readme")
    )
    for key, value in PRESETS[preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.preset = preset
    if args.device == "gpu":
        args.no_peer = True
        args.pipeline_seconds = 0.0
    args.backends = _choices("--backends", args.backends, BACKENDS)
    args.precisions = _choices(
        "--precisions",
        args.precisions,
        ("float32", "mixed_bfloat16", "mixed_float16", "bfloat16", "float16"),
    )
    if args.other_rounds is None:
        args.other_rounds = args.rounds
    if args.mixed_batch_sizes is None:
        args.mixed_batch_sizes = args.batch_sizes
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
        args.mixed_batch_sizes = [int(b) for b in args.mixed_batch_sizes.split(",")]
    except ValueError:
        parser.error(
            "--batch-sizes and --mixed-batch-sizes must be comma-separated "
            f"integers; received {args.batch_sizes!r} and {args.mixed_batch_sizes!r}"
        )
    if args.heads_per_chunk is not None and args.heads_per_chunk < 1:
        parser.error(
            f"--heads-per-chunk must be positive; received {args.heads_per_chunk}"
        )
    if (
        any(b < 1 for b in args.batch_sizes + args.mixed_batch_sizes)
        or min(args.rounds, args.other_rounds, args.threads, args.min_steps) < 1
    ):
        parser.error(
            "--batch-sizes, --mixed-batch-sizes, --rounds, --other-rounds, "
            "--threads and --min-steps must be positive"
        )
    check_model_arguments(parser, args)
    if args.max_minutes is not None and args.max_minutes <= 0:
        parser.error(f"--max-minutes must be positive; received {args.max_minutes}")
    return args


def _choices(flag: str, value: str, allowed) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown or not items:
        raise SystemExit(
            f"{flag}: unknown {unknown or value!r}; choose from {', '.join(allowed)}."
        )
    return items


def configurations(args) -> list[dict]:
    """The keras_umdf runs of one round, the default backend and settings first."""
    runs = []
    for backend, precision in itertools.product(args.backends, args.precisions):
        xla_modes = ["default"]
        if backend == "tensorflow" and args.xla in ("on", "both"):
            xla_modes = ["default", True] if args.xla == "both" else [True]
        for jit in xla_modes:
            runs.append(
                {
                    "backend": backend,
                    "precision": precision,
                    "jit_compile": jit,
                    "dropout": args.dropout,
                }
            )
    if args.like_peer and runs:
        runs.append({**runs[0], "dropout": 0.0, "like_peer": True})
    if args.heads_per_chunk and runs:
        runs.append({**runs[0], "heads_per_chunk": args.heads_per_chunk})
    return runs


def planned(args, index: int, config: dict, batch: int, round_index: int) -> bool:
    """Whether configuration `index` runs at `batch` in round `round_index`."""
    if config["precision"].startswith("mixed") and batch not in args.mixed_batch_sizes:
        return False
    return round_index < (args.rounds if index == 0 else args.other_rounds)


def config_label(run: dict) -> str:
    parts = [run["backend"]]
    if run["jit_compile"] is True:
        parts.append("XLA")
    parts.append(run["precision"])
    if run.get("dropout") is not None:
        parts.append(f"dropout={run['dropout']:g}")
    if run.get("heads_per_chunk"):
        parts.append(f"{run['heads_per_chunk']} heads per chunk")
    return " ".join(parts)
