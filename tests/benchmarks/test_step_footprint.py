"""A regression guard on the size of the TensorFlow training step
(`benchmarks/step_footprint.py`): its op count and the activations it keeps for
the gradient, on the tiny architecture. Not a timed test: both figures come
from the traced graph and depend only on the code and the pinned versions."""

import pytest

from benchmarks import step_footprint

# The figures of `KERAS_BACKEND=tensorflow python -m benchmarks.step_footprint`
# (batch 8) with the versions of tests/constraints.txt (TensorFlow 2.21.0, Keras
# 3.15.1): the same in every process, whatever the machine's load. A
# deliberate change that lowers a figure should lower its reference here, so
# that the guard keeps its margin; one that raises it on purpose (a new layer)
# should raise it, saying why in the commit.
REFERENCE = {
    "dispatched": {"ops": 4_735, "kept_bytes": 5_382_148},
    "reference": {"ops": 4_415, "kept_bytes": 21_351_716},
}
# Guards against multiplying, not against a few ops more: a layer run twice, an
# unrolled loop, every head's probabilities kept twice over.
MAX_GROWTH = 1.5
# Below this share of the reference the measurement itself is broken (it finds
# no forward scope, no gradient readers, no graph): the guard would pass blind.
MIN_SHARE = 0.5


def _check(name, value, reference):
    assert value <= MAX_GROWTH * reference, (
        f"the tiny UMDF's training step now has {value:,} {name}, "
        f"{value / reference:.2f}x its reference {reference:,} (at most "
        f"{MAX_GROWTH}x): a change multiplied the step's {name}. "
        "`python -m benchmarks.step_footprint` and `python -m "
        "benchmarks.profile_memory --architecture tiny` break it down by part "
        "and layer; if the growth is intended, raise REFERENCE in this file."
    )
    assert value > MIN_SHARE * reference, (
        f"the measurement found {value:,} {name}, under {MIN_SHARE}x the "
        f"reference {reference:,}: the measurement is broken, or the step "
        "shrank on purpose and REFERENCE in this file should be lowered."
    )


@pytest.fixture(scope="module")
def batch():
    return step_footprint.training_batch()


@pytest.mark.only_backend("tensorflow")
@pytest.mark.parametrize("path", step_footprint.ATTENTION_PATHS)
def test_the_training_step_does_not_multiply_its_ops_or_kept_activations(path, batch):
    with step_footprint.attention_path(path):
        figures = step_footprint.footprint(step_footprint.tiny_model(), batch)
    ops, kept = figures["ops"], figures["kept"]
    reference = REFERENCE[path]
    _check("ops", ops["ops"], reference["ops"])
    _check("bytes of kept activations", kept["bytes"], reference["kept_bytes"])
    # Every kept tensor has a static size, so none escapes the count.
    assert kept["unsized_tensors"] == 0
    # The step has all its parts: a forward pass, its gradient, an update.
    assert {"forward", "gradient", "optimizer"} <= set(ops["by_part"])
    assert sum(ops["by_part"].values()) == ops["graph_ops"]


@pytest.mark.only_backend("tensorflow")
def test_ops_in_function_bodies_are_counted_once_per_body():
    import tensorflow as tf

    @tf.function
    def doubling_loop(x):
        with tf.name_scope("loop"):
            return tf.while_loop(
                lambda i, x: i < 3, lambda i, x: (i + 1, 2 * x), (0, x)
            )

    graph = doubling_loop.get_concrete_function(tf.TensorSpec((4,))).graph
    counted = step_footprint.count_ops(graph, {"loop": "loop$"})
    # The loop's condition and body are functions of the graph's library, each
    # counted; the op that calls them is one op of the graph.
    assert len(counted["function_ops"]) == 2
    assert all(nodes > 0 for nodes in counted["function_ops"].values())
    assert counted["ops"] == counted["graph_ops"] + sum(
        counted["function_ops"].values()
    )
    assert counted["graph_ops"] == len(graph.get_operations())
    loops = {t: n for t, n in counted["by_type"].items() if t.endswith("While")}
    assert list(loops.values()) == [1]  # While, or StatelessWhile
    assert counted["by_part"]["loop"] >= 1
    in_parts = counted["by_part"]["loop"] + counted["by_part"].get("other", 0)
    assert in_parts == counted["graph_ops"]
