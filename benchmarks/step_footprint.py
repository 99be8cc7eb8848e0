"""The size of UMDF's traced TensorFlow training step: its ops and the activations
it keeps for the gradient.

    KERAS_BACKEND=tensorflow python -m benchmarks.step_footprint
    python -m benchmarks.step_footprint --batch-size 16

Two figures that do not depend on the machine or its load, only on the code and
the TensorFlow and Keras versions, so a test can hold them to reference values
(`tests/benchmarks/test_step_footprint.py`) where a timed test would be noise:

1. The op count: the nodes of the graph TensorFlow traces for
   `model.train_step(batch)` (what `fit`'s train function runs per batch:
   forward, loss, gradient, optimizer update and metrics), at the batch's
   fixed input signature, all of them, constants, placeholders and variable
   reads included, plus the nodes of every function body in the graph's
   library (a `tf.while_loop` or `tf.cond` body, a nested `tf.function`), each
   body counted once however many ops call it. A graph with more ops costs
   more to trace and more executor overhead per step; an unrolled loop or a
   layer run twice multiplies it. Also counted by
   part: the model's forward ops (its name scope), the gradient (the
   `gradient_tape` name scope), the optimizer update (its name scope) and the
   rest (loss, metrics).
2. The kept activations: the bytes of the tensors the forward pass makes and
   the rest of the step reads (the gradient, and the loss that starts it), from
   their static shapes, as `benchmarks.profile_memory.saved_for_gradient`
   finds them: every tensor an op under the model's name scope makes and an op
   outside it reads for its values, counted once per buffer (a `Reshape` or
   `Identity` of a tensor is that tensor), without variable reads and
   constants. These are the tensors alive at the turn from the forward to the
   backward pass: the step's memory grows with them, and a change that keeps
   every head's attention probabilities twice, or runs the encoder twice,
   multiplies them. It is the same figure `python -m benchmarks.profile_memory`
   prints by layer at the benchmark's size, so a rise found here can be traced
   there.

The model has the widths of the benchmark tests' tiny architecture
(`measure_umdf.TINY`: text/audio/vision 12/6/4 features, d = 8, 2 heads of
k = 4, 1 MCIM layer; UMDF's default dropout 0.1; `compile()`'s optimizer) at
the paper's 50 frames, so that the attention probabilities weigh in the kept
activations as they do at the paper's size (heads x S / d = 2 x 50 / 8 = 10 x
50 / 40: per frame, 12.5 probabilities per hidden value in both); the length
costs nothing to trace. The batch is the first two-view training batch of
`keras_umdf.data.make_dataset` (synthetic MOSI of those shapes, modality masks
included), float32. The step is measured twice: with the attention as the model dispatches it
(`keras_umdf.backend.ops.fast_attention`: on TensorFlow, every attention on
the head-by-head kernel of `keras_umdf.backend.tensorflow.attention`, whose
gradient recomputes the attention probabilities), and with that kernel off, on
the reference `keras_umdf.layers.scaled_dot_product_attention` (which keeps
them, as the JAX and PyTorch backends' reference path does).

Nothing is run: both figures come from the traced graph.

TensorFlow only: the graph is TensorFlow's traced step.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import sys

from benchmarks.measure_umdf import TINY
from benchmarks.profile_memory import forward_scope_pattern
from benchmarks.profile_memory import saved_for_gradient
from benchmarks.profile_memory import traced_train_step

ATTENTION_PATHS = ("dispatched", "reference")
"""How the attention is computed: as the model dispatches it (TensorFlow's
head-by-head kernel), or on the reference path with the backend's kernel off."""

LENGTH = 50
"""Frames per modality: the paper's."""

BATCH_SIZE = 8
"""The batch the figures are measured at (the kept activations grow with it)."""


@contextlib.contextmanager
def attention_path(path: str):
    """Computes the model's attention on `path` (one of `ATTENTION_PATHS`)
    while the block runs, i.e. while a step is traced."""
    from keras_umdf.backend import ops

    if path not in ATTENTION_PATHS:
        raise ValueError(
            f"the attention path must be one of {ATTENTION_PATHS}; received {path!r}"
        )
    dispatch = ops._backend_attention
    if path == "reference":
        ops._backend_attention = lambda: None
    try:
        yield
    finally:
        ops._backend_attention = dispatch


def training_batch(batch_size: int = BATCH_SIZE, seed: int = 0) -> tuple:
    """The first two-view training batch `(x, y)` of synthetic MOSI with the
    tiny architecture's features over `LENGTH` frames, as `make_dataset` gives
    it to `fit`."""
    import keras_umdf

    data = keras_umdf.data.synthetic(
        "mosi",
        seed=seed,
        scale=0.02,
        sequence_length=LENGTH,
        modality_dims=TINY["modality_dims"],
    )
    split = data["train"]
    if batch_size > split.num_samples:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {split.num_samples} "
            "training clips of the small synthetic data; pass at most that."
        )
    dataset = keras_umdf.data.make_dataset(
        split, training=True, batch_size=batch_size, seed=seed
    )
    return next(iter(dataset))


def tiny_model(seed: int = 0):
    """The tiny UMDF, built and compiled with `compile()`'s optimizer (built)."""
    import keras

    import keras_umdf

    keras.utils.set_random_seed(seed)
    model = keras_umdf.UMDF(
        TINY["modality_dims"],
        hidden_dim=TINY["hidden_dim"],
        num_heads=TINY["num_heads"],
        num_layers=TINY["num_layers"],
    )
    model.build()
    model.compile()
    model.optimizer.build(model.trainable_variables)
    return model


def count_ops(graph, parts: dict[str, str] | None = None) -> dict:
    """The nodes of a traced TensorFlow graph and of its function library.

    Args:
        graph: a `tf.Graph`, e.g. a concrete function's `.graph`.
        parts: {part name: regular expression}; a top-level op whose outermost
            name scope matches one is counted under the first such part,
            otherwise under "other".

    Returns:
        {"ops": the graph's ops plus the nodes of every function body in its
        library, "graph_ops": the graph's own ops, "function_ops": {function
        name: nodes}, "by_part": {part: the graph's own ops}, "by_type":
        {op type: the graph's own ops}, largest first}.
    """
    patterns = {name: re.compile(p) for name, p in (parts or {}).items()}
    by_part, by_type = collections.Counter(), collections.Counter()
    operations = graph.get_operations()
    for op in operations:
        scope = op.name.split("/", 1)[0]
        part = next((n for n, p in patterns.items() if p.match(scope)), "other")
        by_part[part] += 1
        by_type[op.type] += 1
    functions = {
        f.signature.name: len(f.node_def) for f in graph.as_graph_def().library.function
    }
    return {
        "ops": len(operations) + sum(functions.values()),
        "graph_ops": len(operations),
        "function_ops": functions,
        "by_part": dict(by_part.most_common()),
        "by_type": dict(by_type.most_common()),
    }


def footprint(model, data) -> dict:
    """The op count and the kept activations of a Keras model's TensorFlow
    training step, from `model.train_step` traced at `data`'s shapes.

    Args:
        model: a compiled, built `keras.Model` on the TensorFlow backend whose
            optimizer is built (as `tiny_model` returns it).
        data: one batch as `train_step` takes it, e.g. `(x, y)`.

    Returns:
        {"ops": `count_ops` of the step, its parts "forward", "gradient",
        "optimizer" and "other"; "kept": `saved_for_gradient` of the step}.
    """
    # One trace serves both figures.
    graph = traced_train_step(model, data)
    parts = {
        "forward": forward_scope_pattern(model),
        "gradient": r"gradient_tape$",
        "optimizer": rf"{re.escape(model.optimizer.name)}(_\d+)?$",
    }
    return {
        "ops": count_ops(graph, parts),
        "kept": saved_for_gradient(model, data, graph=graph),
    }


def measure(path: str = "dispatched", batch_size: int = BATCH_SIZE) -> dict:
    """`footprint` of the tiny UMDF's training step with the attention on
    `path`, at `batch_size`."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise SystemExit(
            "step_footprint.py reads TensorFlow's traced training step, but the "
            f"Keras backend is {keras.backend.backend()!r}; run it with "
            "KERAS_BACKEND=tensorflow."
        )
    keras.config.set_dtype_policy("float32")
    data = training_batch(batch_size)
    with attention_path(path):
        return footprint(tiny_model(), data)


def format_report(figures: dict, path: str, batch_size: int, top: int = 5) -> str:
    """The figures of `measure` as text."""
    ops, kept = figures["ops"], figures["kept"]
    parts = ", ".join(f"{name} {count:,}" for name, count in ops["by_part"].items())
    layers = ", ".join(
        f"{name} {size / 1024:,.1f}"
        for name, size in list(kept["by_layer"].items())[:top]
    )
    return "\n".join(
        [
            f"tiny UMDF, TensorFlow, float32, batch {batch_size}, {path} attention",
            f"  ops in the traced step: {ops['ops']:,} ({parts}; "
            f"{sum(ops['function_ops'].values()):,} in "
            f"{len(ops['function_ops'])} function bodies)",
            f"  activations kept for the gradient: {kept['bytes']:,} bytes in "
            f"{kept['tensors']} tensors"
            + (
                f" ({kept['unsized_tensors']} of unknown size not counted)"
                if kept["unsized_tensors"]
                else ""
            ),
            f"  largest by layer, KiB: {layers}",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be positive; received {args.batch_size}")
    import keras_umdf  # noqa: F401  (before TensorFlow: its oneDNN setting)

    for path in ATTENTION_PATHS:
        try:
            figures = measure(path, args.batch_size)
        except ValueError as error:  # a batch larger than the data
            parser.error(str(error))
        print(format_report(figures, path, args.batch_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
