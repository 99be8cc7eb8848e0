"""Where the TensorFlow training step of UMDF spends its memory.

    KERAS_BACKEND=tensorflow python -m benchmarks.profile_memory --batch-size 16
    python -m benchmarks.profile_memory --batch-size 16 --num-heads 8   # MOSEI's
    python -m benchmarks.profile_memory --batch-size 1 --json mem.json

Builds UMDF at the benchmark's configuration (`measure_umdf.py`: the paper's
MOSI architecture, synthetic data of the real shapes, Adam, float32), and
reports:

1. The process's resident memory (Linux) after the model
   is built, after the first (tracing) training step, after `--steps` more,
   and its peak: what `model.fit` costs beside the data; and the most memory
   the large tensors held at once during those steps, as TensorFlow's CPU
   allocator counts it (with oneDNN on; `allocator_peak_mb`).
2. The activations one training step keeps for its gradient, read from the
   traced step (`saved_for_gradient`): every tensor a forward op of the model
   makes that an op outside the model (the gradient, the loss) reads. At the
   turn from the forward to the backward pass all of them are alive at once,
   so their sum is what the step must hold then; it grows with the batch,
   while the rest of the process does not. TensorFlow's executor may hold
   more: it runs an op as soon as its inputs exist, so a gradient op that
   reads only forward tensors can run, and its output wait, during the
   forward pass (the allocator's peak shows it). Tensors that only rename
   another (`Reshape`, `Identity`, ...) share its buffer and are counted
   once; variables are not activations and are left out. Printed by the op
   that made them and by layer, in MB per step and per clip.

`--json PATH` writes the same figures (a new file; an existing one needs
`--overwrite`). Run it once per batch size: each process's peak is its own.

TensorFlow only: the graph is TensorFlow's traced step.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

from benchmarks.measure_umdf import add_model_arguments
from benchmarks.measure_umdf import check_json_path
from benchmarks.measure_umdf import check_model_arguments
from benchmarks.measure_umdf import peak_rss_mb
from benchmarks.measure_umdf import rss_mb
from benchmarks.measure_umdf import tensorflow_float32_model
from benchmarks.measure_umdf import write_json
from benchmarks.threads import pin_tensorflow_threads

# Ops whose output is a view of their first input's buffer in TensorFlow's
# CPU kernels: a saved one costs nothing beyond the buffer it renames.
ALIASES = frozenset(
    {"Reshape", "Identity", "IdentityN", "ExpandDims", "Squeeze", "StopGradient"}
)
# Variables, their reads, constants and captured handles: no activation memory.
NOT_ACTIVATIONS = frozenset({"ReadVariableOp", "Const", "VarHandleOp", "Placeholder"})
# Readers that need only a tensor's shape, not its values (constant once the
# shapes are known): they keep nothing alive.
SHAPE_READERS = frozenset({"Shape", "ShapeN", "Size", "Rank"})


def layer_names(model) -> set[str]:
    """The names of every layer in the model, nested ones included (a
    backbone's layers as well as the backbone)."""
    import keras

    names, seen = set(), set()

    def visit(value):
        if isinstance(value, keras.layers.Layer):
            if id(value) in seen:
                return
            seen.add(id(value))
            names.add(value.name)
            for attribute in vars(value).values():
                visit(attribute)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                visit(item)

    for layer in model.layers:
        visit(layer)
    return names


def resident_mb() -> dict:
    """The process's resident and peak resident memory, MB (Linux)."""
    return {"rss_mb": rss_mb(), "peak_mb": peak_rss_mb()}


def allocator_peak_mb() -> float | None:
    """The most memory TensorFlow's CPU allocator held for tensors since the
    last call (which this call resets), MB; None where it keeps no figures.

    With oneDNN on, TensorFlow's CPU allocator keeps the large tensors in a
    pool that counts them and hands the small ones to malloc, uncounted; with
    oneDNN off it keeps no figures.
    """
    import tensorflow as tf

    try:
        peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
        tf.config.experimental.reset_memory_stats("CPU:0")
    except (ValueError, RuntimeError, KeyError):
        return None
    return peak / 2**20


def _source(tensor):
    """The tensor whose buffer `tensor` shares (itself unless an alias)."""
    while tensor.op.type in ALIASES and tensor.op.inputs:
        tensor = tensor.op.inputs[0]
    return tensor


def forward_scope_pattern(model) -> str:
    """The regular expression of the outermost name scope of a model's forward
    ops in its traced step: its name with the suffix TensorFlow adds (`umdf`,
    `umdf_1`, ...)."""
    return rf"{re.escape(model.name)}(_\d+)?$"


def traced_train_step(model, data):
    """The graph of `model.train_step` traced (not run) at `data`'s shapes; the
    optimizer is built first if it is not.

    Args:
        model: a compiled `keras.Model` on the TensorFlow backend, built.
        data: one batch as `train_step` takes it, e.g. `(x, y)`.
    """
    import tensorflow as tf

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    spec = tf.nest.map_structure(
        lambda t: tf.TensorSpec(t.shape, t.dtype),
        tf.nest.map_structure(tf.convert_to_tensor, data),
    )
    return tf.function(model.train_step).get_concrete_function(spec).graph


def saved_for_gradient(
    model, data, forward_scope: str | None = None, graph=None
) -> dict:
    """The activations a Keras model's TensorFlow training step keeps for its
    gradient, from the traced step.

    Traces `model.train_step(data)` (not run) and finds every tensor that an
    op under the model's name scope makes and an op outside it reads (for its
    values, not only its shape), counted once per buffer (aliases followed
    back to their source) and without variable reads and constants. An
    estimate from the shapes: TensorFlow may also write an op's output into
    a buffer of its inputs that nothing else needs, which this does not see.

    Args:
        model: a compiled `keras.Model` on the TensorFlow backend, built.
        data: one batch as `train_step` takes it, e.g. `(x, y)`; its batch size
            is the one the shapes are counted at.
        forward_scope: the regular expression that matches the outermost name
            scope of the model's forward ops; default `forward_scope_pattern`.
        graph: the step already traced by `traced_train_step(model, data)`
            (default: traced here).

    Returns:
        {"bytes": total, "tensors": count, "unsized_tensors": count of
        those whose size the traced graph leaves open (not in the bytes),
        "by_op_type": {type: bytes}, "by_layer": {layer: bytes}}, both dicts
        largest first.

    Example:

    ```python
    saved = saved_for_gradient(model, (x, y))
    print(saved["bytes"] / 2**20, "MB kept for the gradient")
    ```
    """
    pattern = re.compile(forward_scope or forward_scope_pattern(model))
    if graph is None:
        graph = traced_train_step(model, data)

    def forward(op) -> bool:
        return bool(pattern.match(op.name.split("/", 1)[0]))

    saved = {}
    for op in graph.get_operations():
        if not forward(op):
            continue
        for tensor in op.outputs:
            readers = [r for r in tensor.consumers() if r.type not in SHAPE_READERS]
            if any(not forward(reader) for reader in readers):
                source = _source(tensor)
                if forward(source.op) and source.op.type not in NOT_ACTIVATIONS:
                    saved[source.name] = source
    layers = layer_names(model)
    by_type, by_layer = collections.Counter(), collections.Counter()
    unsized = 0
    for tensor in saved.values():
        if not tensor.shape.is_fully_defined():
            unsized += 1  # a size only known when the step runs
            continue
        size = tensor.shape.num_elements() * tensor.dtype.size
        by_type[tensor.op.type] += size
        scopes = tensor.op.name.split("/")
        if len(scopes) > 2:
            # A layer called inside a traced function gets a suffix: mcim_0_1.
            layer = re.sub(r"_\d+$", "", scopes[1])
            layer = layer if layer in layers else scopes[1]
        else:
            layer = f"{model.name} (its own ops)"
        by_layer[layer] += size
    return {
        "bytes": sum(by_type.values()),
        "tensors": len(saved),
        "unsized_tensors": unsized,
        "by_op_type": dict(by_type.most_common()),
        "by_layer": dict(by_layer.most_common()),
    }


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--num-heads",
        type=int,
        help="attention heads (default: the architecture's; the paper's is "
        "10, MOSI's; MOSEI's is 8)",
    )
    parser.add_argument(
        "--steps", type=int, default=3, help="training steps after the first"
    )
    add_model_arguments(
        parser, "TensorFlow's intra- and inter-op threads (default: all cores)"
    )
    parser.add_argument("--top", type=int, default=6, help="rows per table")
    parser.add_argument("--json", help="also write the figures to this new file")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --json file"
    )
    args = parser.parse_args(argv)
    heads = 1 if args.num_heads is None else args.num_heads
    if min(args.batch_size, heads, args.steps, args.threads, args.top) < 1:
        parser.error(
            "--batch-size, --num-heads, --steps, --threads and --top must be "
            f"positive; received {args.batch_size}, {args.num_heads}, "
            f"{args.steps}, {args.threads} and {args.top}"
        )
    check_model_arguments(parser, args)
    check_json_path(parser, args)
    return args


def profile(args: argparse.Namespace) -> dict:
    """Builds UMDF, trains `args.steps + 1` steps, and traces its step."""
    config, model, x, y = tensorflow_float32_model(
        args, "profile_memory.py", "reads TensorFlow's traced step"
    )
    import keras_umdf

    memory = {"built": resident_mb()}
    model.train_on_batch(x, y)
    memory["first_step"] = resident_mb()
    allocator_peak_mb()  # resets the allocator's peak: the first step's is not kept
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    memory["last_step"] = resident_mb()
    tensors = allocator_peak_mb()
    # Traced after the steps, so that this second trace is not in their peak.
    saved = saved_for_gradient(model, (x, y))
    return {
        "config": {
            "architecture": args.architecture,
            "batch_size": args.batch_size,
            "num_heads": config["num_heads"],
            "dropout": model.dropout,
            "steps": args.steps + 1,
            "threads": args.threads,
            "onednn": keras_umdf.onednn.onednn_enabled(),
        },
        "memory_mb": memory,
        "tensor_peak_mb": tensors,
        "saved": saved,
    }


def format_report(result: dict, top: int = 6) -> str:
    """The figures as text: resident memory, then the saved activations."""
    config, memory, saved = result["config"], result["memory_mb"], result["saved"]
    batch, mb = config["batch_size"], 2**20
    lines = [
        f"UMDF training step, TensorFlow, float32, {config['architecture']} "
        f"architecture, {config['num_heads']} heads, batch {batch}, dropout "
        f"{config['dropout']}, {config['threads']} threads, oneDNN "
        f"{config['onednn']}",
        "resident memory, MB: "
        f"built {memory['built']['rss_mb']:,.0f}; after the first step "
        f"{memory['first_step']['rss_mb']:,.0f}; after step {config['steps']} "
        f"{memory['last_step']['rss_mb']:,.0f}; peak "
        f"{memory['last_step']['peak_mb']:,.0f}",
        "large tensors at a step's peak (TensorFlow's oneDNN pool): "
        + (
            "not reported by this TensorFlow"
            if result["tensor_peak_mb"] is None
            else f"{result['tensor_peak_mb']:,.1f} MB, "
            f"{result['tensor_peak_mb'] / batch:,.2f} MB per clip"
        ),
        f"activations kept for the gradient: {saved['bytes'] / mb:,.1f} MB per "
        f"step, {saved['bytes'] / mb / batch:,.2f} MB per clip "
        f"({saved['tensors']} tensors"
        + (
            f"; {saved['unsized_tensors']} of unknown size not counted)"
            if saved["unsized_tensors"]
            else ")"
        ),
    ]
    for title, table in (("made by", "by_op_type"), ("in layer", "by_layer")):
        lines.append(f"  {title:<32} {'MB/step':>9} {'share':>6}")
        rows = list(saved[table].items())
        shown = rows[:top]
        if len(rows) > top:
            shown.append((f"({len(rows) - top} more)", sum(v for _, v in rows[top:])))
        for name, size in shown:
            share = size / saved["bytes"] if saved["bytes"] else 0.0
            lines.append(f"  {name:<32} {size / mb:>9.1f} {100 * share:>5.1f}%")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    pin_tensorflow_threads(args.threads)
    result = profile(args)
    print(format_report(result, args.top))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
