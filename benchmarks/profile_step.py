"""Where the TensorFlow training step of UMDF spends its time: a profile by op type.

    KERAS_BACKEND=tensorflow python -m benchmarks.profile_step --batch-size 16
    python -m benchmarks.profile_step --batch-size 128 --steps 2 --json prof.json
    python -m benchmarks.profile_step --dropout 0        # without dropout

Builds UMDF at the benchmark's configuration (`measure_umdf.py`: the paper's
MOSI architecture, synthetic data of the real shapes, Adam, float32, Keras's
default `jit_compile`, which is off on CPU), runs the first (tracing) training
step and `--warmup` more, then records `--steps` training steps with
TensorFlow's own profiler and reads the trace it writes (`*.xplane.pb`) with the
protobuf classes TensorFlow ships.

Every op the executor ran on the host's threads is one event named
`op_name:OpType`; its self time (its duration less that of any op nested in it)
is summed by op type, and the op types are grouped into a few categories
(`CATEGORIES`). Prints, per training step: the wall time; the op time summed
over threads (two ops may run at once on two threads); the share of the wall
time during which at least one op ran (the rest is the executor's scheduling
and Python between ops); and, per category, milliseconds, its share of the op
time and its largest op types. `--json PATH` writes the same figures (a new
file; an existing one needs `--overwrite`).

The profiler adds a little time per op; the wall time of the last unprofiled
warm-up step is printed beside the profiled one. The machine's load average is
recorded with the figures: on a shared machine the shares, not the absolute
times, are what compare.

TensorFlow only: the profile is of TensorFlow's executor.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import glob
import os
import re
import sys
import tempfile
import time

from benchmarks.measure_umdf import add_model_arguments
from benchmarks.measure_umdf import check_json_path
from benchmarks.measure_umdf import check_model_arguments
from benchmarks.measure_umdf import tensorflow_float32_model
from benchmarks.measure_umdf import write_json
from benchmarks.threads import pin_tensorflow_threads

MATMUL = "matmuls and convolutions"
SOFTMAX = "softmax"
DROPOUT = "dropout masks"
SELECTS = "selects and comparisons (masks applied)"
COPIES = "concatenation, splits and copies"
LAYER_NORM = "layer norm statistics"
REDUCTIONS = "reductions (bias gradients, sums)"
OPTIMIZER = "optimizer update"
ELEMENTWISE = "element-wise other"
BOOKKEEPING = "variable reads and bookkeeping"
OTHER = "other"
CATEGORIES = (
    MATMUL,
    SOFTMAX,
    DROPOUT,
    SELECTS,
    COPIES,
    LAYER_NORM,
    REDUCTIONS,
    OPTIMIZER,
    ELEMENTWISE,
    BOOKKEEPING,
    OTHER,
)
"""The categories of op types, in the order they are printed."""

_MATMUL_TYPES = {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum"}
_COPY_TYPES = {
    "ConcatV2",
    "Concat",
    "ConcatOffset",
    "Split",
    "SplitV",
    "Pack",
    "Unpack",
    "Slice",
    "StridedSlice",
    "StridedSliceGrad",
    "Transpose",
    "Tile",
    "BroadcastTo",
    "GatherV2",
    "Reshape",
    "ExpandDims",
    "Squeeze",
    "Identity",
    "IdentityN",
    "Fill",
    "ZerosLike",
    "OnesLike",
    "Pad",
    "PadV2",
    "MirrorPad",
    "ReverseV2",
}
# Where dropout's keep masks (and presence masks) are made and applied; without
# presence masks (UMDF's default zero-filling), these are dropout's.
_SELECT_TYPES = {
    "Select",
    "SelectV2",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "Equal",
    "NotEqual",
    "LogicalAnd",
    "LogicalOr",
    "LogicalNot",
}
_LAYER_NORM_TYPES = {"Rsqrt", "RsqrtGrad", "SquaredDifference"}
_REDUCTION_TYPES = {"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "BiasAddGrad"}
_ELEMENTWISE_TYPES = {
    "Add",
    "AddV2",
    "AddN",
    "BiasAdd",
    "Sub",
    "Mul",
    "MulNoNan",
    "Div",
    "DivNoNan",
    "RealDiv",
    "Neg",
    "Square",
    "Sqrt",
    "SqrtGrad",
    "Exp",
    "Log",
    "Log1p",
    "Abs",
    "Sign",
    "Relu",
    "ReluGrad",
    "Maximum",
    "Minimum",
    "Cast",
    "Pow",
    "Reciprocal",
    "ReciprocalGrad",
    "Tanh",
    "TanhGrad",
    "Sigmoid",
    "SigmoidGrad",
    "Softplus",
    "SoftplusGrad",
    "ClipByValue",
    "FloorDiv",
    "FloorMod",
}
_BOOKKEEPING_TYPES = {
    "ReadVariableOp",
    "AssignVariableOp",
    "AssignAddVariableOp",
    "AssignSubVariableOp",
    "VarHandleOp",
    "Const",
    "NoOp",
    "Shape",
    "ShapeN",
    "Size",
    "Rank",
    "Range",
    "_Arg",
    "_Retval",
    "_Recv",
    "_Send",
    "BroadcastArgs",
    "BroadcastGradientArgs",
    "StopGradient",
    "PreventGradient",
}
# `name:Type`, the executor's event of one op (its other events hold "::").
_OP_EVENT = re.compile(r"^(?P<name>[^\s]+):(?P<type>[A-Za-z_][A-Za-z0-9_]*)$")


@dataclasses.dataclass(frozen=True)
class OpEvent:
    """One op the executor ran: where, when (picoseconds) and what."""

    thread: int
    start_ps: int
    duration_ps: int
    name: str
    op_type: str


def tensorflow_type(op_type: str) -> str:
    """The TensorFlow op type behind a oneDNN kernel's type name.

    With oneDNN on (`keras_umdf.onednn`), TensorFlow rewrites ops to its oneDNN
    kernels, named `_Mkl<Type>` or `_MklNative<Type>`:
    `tensorflow_type("_MklBatchMatMulV2")` is "BatchMatMulV2", and a fused
    kernel such as "_MklNativeFusedMatMul" (a product with its bias) becomes
    "FusedMatMul". Other names are returned as they are.
    """
    for prefix in ("_MklNative", "_Mkl"):
        if op_type.startswith(prefix) and len(op_type) > len(prefix):
            return op_type[len(prefix) :]
    return op_type


def categorize(op_type: str, op_name: str, optimizer_scope: str = "adam") -> str:
    """The category (one of `CATEGORIES`) of an op, by its type and name.

    Ops under the optimizer's name scope are its update, whatever their type;
    random ops and ops under a "dropout" name scope make dropout masks; ops
    under a "layer_norm" name scope (and the types only layer norms use here)
    are layer norm statistics; the rest go by type. Selects and comparisons
    make and apply masks: the keep masks of the attention's dropout, which are
    drawn and applied outside any "dropout" scope, and presence masks.

    Args:
        op_type: e.g. "MatMul" (or oneDNN's "_MklMatMul", the same).
        op_name: the op's name in the graph, e.g. "umdf_1/mcim_0_1/MatMul_3".
        optimizer_scope: the optimizer's name (Keras's Adam: "adam").

    Returns:
        The category's name.

    Example:

    ```python
    categorize("BatchMatMulV2", "gradient_tape/umdf_1/mcim_0_1/einsum/MatMul")
    # "matmuls and convolutions"
    ```
    """
    op_type = tensorflow_type(op_type)
    scopes = op_name.lower().split("/")
    if optimizer_scope and optimizer_scope.lower() in scopes[:2]:
        return OPTIMIZER
    if "Random" in op_type or op_type.startswith("Rng"):
        return DROPOUT
    if op_type in _MATMUL_TYPES or "MatMul" in op_type or "Conv" in op_type:
        return MATMUL
    if any("dropout" in scope for scope in scopes):
        return DROPOUT
    if op_type in ("Softmax", "LogSoftmax"):
        return SOFTMAX
    if op_type in _LAYER_NORM_TYPES or any("layer_norm" in s for s in scopes):
        return LAYER_NORM
    if op_type in _SELECT_TYPES:
        return SELECTS
    if op_type in _COPY_TYPES:
        return COPIES
    if op_type in _REDUCTION_TYPES:
        return REDUCTIONS
    if op_type in _ELEMENTWISE_TYPES:
        return ELEMENTWISE
    if op_type in _BOOKKEEPING_TYPES:
        return BOOKKEEPING
    return OTHER


def xplane_pb2():
    """TensorFlow's own `xplane_pb2` module (the trace's protobuf classes)."""
    for module in (
        "tensorflow.tsl.profiler.protobuf.xplane_pb2",
        "tsl.profiler.protobuf.xplane_pb2",
        "tensorflow.core.profiler.protobuf.xplane_pb2",
    ):
        try:
            return __import__(module, fromlist=["XSpace"])
        except ImportError:
            continue
    raise ImportError(
        "this TensorFlow ships no xplane_pb2 module (looked for "
        "tensorflow.tsl.profiler.protobuf.xplane_pb2 and two older places); "
        "profile_step.py needs TensorFlow 2.12 or newer."
    )


def read_op_events(path: str) -> list[OpEvent]:
    """The op events of the host CPU plane of an `.xplane.pb` trace.

    Args:
        path: the trace file TensorFlow's profiler wrote.

    Returns:
        One `OpEvent` per op execution, on every host thread.
    """
    space = xplane_pb2().XSpace()
    with open(path, "rb") as file:
        space.ParseFromString(file.read())
    events = []
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        kinds = {}
        for key, metadata in plane.event_metadata.items():
            match = _OP_EVENT.match(metadata.name)
            if match and "::" not in metadata.name:
                kinds[key] = (match["name"], match["type"])
        for line in plane.lines:
            origin = line.timestamp_ns * 1000
            for event in line.events:
                kind = kinds.get(event.metadata_id)
                if kind is not None:
                    events.append(
                        OpEvent(
                            line.id,
                            origin + event.offset_ps,
                            event.duration_ps,
                            kind[0],
                            kind[1],
                        )
                    )
    return events


def self_times(events: list[OpEvent]) -> list[int]:
    """Each event's duration less that of the op events nested directly in it
    on the same thread (a function-call op holds the ops of its body)."""
    own = [event.duration_ps for event in events]
    by_thread = collections.defaultdict(list)
    for index, event in enumerate(events):
        by_thread[event.thread].append(index)
    for indices in by_thread.values():
        indices.sort(key=lambda i: (events[i].start_ps, -events[i].duration_ps))
        stack = []
        for index in indices:
            event = events[index]
            while stack and _end(events[stack[-1]]) <= event.start_ps:
                stack.pop()
            if stack:
                own[stack[-1]] -= event.duration_ps
            stack.append(index)
    return [max(0, value) for value in own]


def busy_ps(events: list[OpEvent]) -> int:
    """Picoseconds during which at least one op ran, on any thread."""
    total, current_end = 0, None
    current_start = None
    for event in sorted(events, key=lambda e: e.start_ps):
        if current_end is None or event.start_ps > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = event.start_ps, _end(event)
        else:
            current_end = max(current_end, _end(event))
    if current_end is not None:
        total += current_end - current_start
    return total


def _end(event: OpEvent) -> int:
    return event.start_ps + event.duration_ps


def summarize(
    events: list[OpEvent], steps: int, wall_s: float, optimizer_scope: str = "adam"
) -> dict:
    """Per-step figures of a trace of `steps` training steps taking `wall_s`.

    Args:
        events: the trace's op events (`read_op_events`).
        steps: training steps the trace holds.
        wall_s: their wall time, in seconds.
        optimizer_scope: the optimizer's name scope (see `categorize`).

    Returns:
        A JSON-ready dict: "wall_ms", "op_ms" (summed over threads),
        "busy_ms" (at least one op running), "coverage" (busy / wall),
        "ops" (op executions per step), "categories" (name -> "ms", "share"
        of the op time, "op_types" {type: ms}, largest first) and "op_types"
        (type -> "ms", "count", "categories"), all per step.

    Raises:
        ValueError: the trace holds no op events (the profiler recorded
            nothing, or its format changed).
    """
    if not events:
        raise ValueError(
            "the profiler's trace holds no op events (names 'op_name:OpType' on "
            "the /host:CPU plane); nothing to summarize. Was the training step "
            "run between tf.profiler.experimental.start and stop, and is the "
            "host tracer on (host_tracer_level >= 2)?"
        )
    own = self_times(events)
    ms = 1e-9 / steps  # picoseconds in the trace -> milliseconds per step
    total_ps = sum(own)
    type_ps = collections.Counter()
    type_count = collections.Counter()
    category_type_ps = collections.defaultdict(collections.Counter)
    type_categories = collections.defaultdict(set)
    known = {}
    for event, ps in zip(events, own, strict=True):
        key = (event.op_type, event.name)
        if key not in known:
            known[key] = categorize(event.op_type, event.name, optimizer_scope)
        category = known[key]
        type_ps[event.op_type] += ps
        type_count[event.op_type] += 1
        category_type_ps[category][event.op_type] += ps
        type_categories[event.op_type].add(category)
    categories = {}
    for name in CATEGORIES:
        types = category_type_ps.get(name)
        if not types:
            continue
        category_ps = sum(types.values())
        categories[name] = {
            "ms": category_ps * ms,
            "share": category_ps / total_ps if total_ps else 0.0,
            "op_types": {op: value * ms for op, value in types.most_common()},
        }
    op_types = {
        op: {
            "ms": value * ms,
            "count": type_count[op] / steps,
            "categories": sorted(type_categories[op]),
        }
        for op, value in type_ps.most_common()
    }
    wall_ms = wall_s * 1e3 / steps
    busy_ms = busy_ps(events) * ms
    return {
        "steps": steps,
        "wall_ms": wall_ms,
        "op_ms": total_ps * ms,
        "busy_ms": busy_ms,
        "coverage": busy_ms / wall_ms if wall_ms else 0.0,
        "ops": len(events) / steps,
        "categories": categories,
        "op_types": op_types,
    }


def format_table(summary: dict, top: int = 3) -> str:
    """The summary as a text table, one line per category."""
    lines = [
        f"wall time per step: {summary['wall_ms']:.1f} ms"
        + (
            f" (unprofiled: {summary['unprofiled_wall_ms']:.1f} ms)"
            if summary.get("unprofiled_wall_ms")
            else ""
        ),
        f"op time per step, summed over threads: {summary['op_ms']:.1f} ms in "
        f"{summary['ops']:.0f} op executions "
        f"({1e3 * summary['op_ms'] / summary['ops']:.1f} us each on average)",
        f"at least one op running: {summary['busy_ms']:.1f} ms per step, "
        f"{100 * summary['coverage']:.1f}% of the wall time; the rest "
        f"({max(0.0, summary['wall_ms'] - summary['busy_ms']):.1f} ms) is the "
        "executor and Python between ops",
        "",
        f"{'category':<40} {'ms/step':>9} {'% ops':>6}  top op types (ms/step)",
    ]
    for name, figures in summary["categories"].items():
        tops = ", ".join(
            f"{op_type} {value:.1f}"
            for op_type, value in list(figures["op_types"].items())[:top]
        )
        lines.append(
            f"{name:<40} {figures['ms']:>9.1f} {100 * figures['share']:>5.1f}%  {tops}"
        )
    lines.append(f"{'total':<40} {summary['op_ms']:>9.1f} {100.0:>5.1f}%")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--steps", type=int, default=3, help="profiled training steps (default 3)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="unprofiled steps after the first (tracing) one (default 1)",
    )
    add_model_arguments(
        parser,
        "TensorFlow's intra- and inter-op threads, as run.py (default: all cores)",
    )
    parser.add_argument("--top", type=int, default=3, help="op types per category")
    parser.add_argument("--json", help="also write the figures to this new file")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --json file"
    )
    parser.add_argument(
        "--trace-dir",
        help="keep TensorFlow's trace in this folder (default: a temporary one, "
        "deleted)",
    )
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps, args.threads) < 1 or args.warmup < 0:
        parser.error(
            "--batch-size, --steps and --threads must be positive and --warmup "
            f"non-negative; received {args.batch_size}, {args.steps}, "
            f"{args.threads} and {args.warmup}"
        )
    check_model_arguments(parser, args)
    check_json_path(parser, args)
    return args


def profile_training(
    model, x, y, steps: int = 3, warmup: int = 1, trace_dir: str | None = None
) -> dict:
    """Profiles `steps` training steps of a compiled Keras model (TensorFlow).

    Runs `model.train_on_batch(x, y)` once (the tracing step) and `warmup`
    more times unprofiled, then `steps` times under TensorFlow's profiler, and
    summarizes the trace (`summarize`).

    Args:
        model: a compiled `keras.Model` on the TensorFlow backend.
        x: the inputs of one batch.
        y: its targets.
        steps: profiled training steps.
        warmup: unprofiled steps after the first.
        trace_dir: folder to keep the trace in (TensorFlow adds a new
            timestamped subfolder); default: a temporary folder, deleted.

    Returns:
        `summarize`'s dict plus "first_step_s", "unprofiled_wall_ms" (the last
        warm-up step; None without one) and "trace" (the kept trace file, or
        None).

    Example:

    ```python
    summary = profile_training(model, x, y, steps=2)
    print(format_table(summary))
    ```
    """
    import tensorflow as tf

    def step():
        model.train_on_batch(x, y)

    start = time.perf_counter()
    step()
    first_s = time.perf_counter() - start
    unprofiled_s = None
    for _ in range(warmup):
        start = time.perf_counter()
        step()
        unprofiled_s = time.perf_counter() - start
    options = tf.profiler.experimental.ProfilerOptions(
        host_tracer_level=2, python_tracer_level=0, device_tracer_level=0
    )
    with tempfile.TemporaryDirectory(prefix="profile_step_") as scratch:
        folder = trace_dir or scratch
        tf.profiler.experimental.start(folder, options=options)
        try:
            start = time.perf_counter()
            for _ in range(steps):
                step()
            wall_s = time.perf_counter() - start
        finally:
            tf.profiler.experimental.stop()
        traces = sorted(
            glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True),
            key=os.path.getmtime,
        )
        if not traces:
            raise RuntimeError(
                f"TensorFlow's profiler wrote no *.xplane.pb file under {folder}."
            )
        events = read_op_events(traces[-1])
    summary = summarize(events, steps, wall_s, model.optimizer.name)
    summary.update(
        first_step_s=first_s,
        unprofiled_wall_ms=None if unprofiled_s is None else unprofiled_s * 1e3,
        trace=traces[-1] if trace_dir else None,
    )
    return summary


def profile(args: argparse.Namespace) -> dict:
    """Builds UMDF at the benchmark's configuration and profiles its training."""
    _, model, x, y = tensorflow_float32_model(
        args, "profile_step.py", "profiles TensorFlow's executor"
    )
    import keras
    import tensorflow as tf

    import keras_umdf

    summary = profile_training(model, x, y, args.steps, args.warmup, args.trace_dir)
    summary.update(
        config={
            "backend": keras.backend.backend(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "precision": "float32",
            "jit_compile": bool(model.jit_compile),
            "architecture": args.architecture,
            "batch_size": args.batch_size,
            "dropout": model.dropout,
            "threads": args.threads,
            "onednn": keras_umdf.onednn.onednn_enabled(),
        },
        load_average=list(os.getloadavg()),
    )
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    pin_tensorflow_threads(args.threads)
    summary = profile(args)
    config = summary["config"]
    load = " ".join(f"{value:.2f}" for value in summary["load_average"])
    print(
        f"UMDF training step, TensorFlow {config['tensorflow']} (keras "
        f"{config['keras']}, jit_compile={config['jit_compile']}), float32, "
        f"{config['architecture']} architecture, batch {config['batch_size']}, "
        f"dropout {config['dropout']}, {config['threads']} threads, oneDNN "
        f"{config['onednn']}, "
        f"{summary['steps']} profiled steps; load average {load}"
    )
    print(format_table(summary, args.top))
    write_json(args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
