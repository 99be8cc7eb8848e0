"""The training-step profile (`benchmarks/profile_step.py`): parsing and totals;
what it shares with `profile_memory.py`."""

import keras
import numpy as np
import pytest

from benchmarks import profile_memory
from benchmarks import profile_step
from benchmarks.profile_step import OpEvent


def _check_totals(summary):
    """The categories and op types account for exactly the op time."""
    categories = summary["categories"]
    assert set(categories) <= set(profile_step.CATEGORIES)
    assert sum(c["ms"] for c in categories.values()) == pytest.approx(
        summary["op_ms"], rel=1e-6
    )
    assert sum(c["share"] for c in categories.values()) == pytest.approx(1.0)
    assert sum(t["ms"] for t in summary["op_types"].values()) == pytest.approx(
        summary["op_ms"], rel=1e-6
    )
    for figures in categories.values():
        assert sum(figures["op_types"].values()) == pytest.approx(figures["ms"])
    assert 0 < summary["busy_ms"] <= summary["wall_ms"]


@pytest.mark.only_backend("tensorflow")
def test_a_real_trace_of_a_training_step_is_parsed_and_accounted(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x, y = np.ones((4, 6), "float32"), np.zeros((4, 1), "float32")
    summary = profile_step.profile_training(
        model, x, y, steps=2, warmup=1, trace_dir=str(tmp_path)
    )
    # TensorFlow's profiler recorded the step's ops and the parser found them:
    # two Dense layers forward and backward, and Adam's update of 4 variables.
    assert summary["trace"].endswith(".xplane.pb")
    assert summary["ops"] >= 20
    assert summary["op_ms"] > 0
    _check_totals(summary)
    # Kernels keep their names: "MatMul", or oneDNN's "_MklMatMul" and
    # "_MklNativeFusedMatMul" (a product fused with its bias and activation).
    matmuls = summary["categories"][profile_step.MATMUL]["op_types"]
    assert sum(ms for op, ms in matmuls.items() if "MatMul" in op) > 0
    count = sum(
        figures["count"]
        for op, figures in summary["op_types"].items()
        if "MatMul" in op
    )
    assert count >= 4  # 2 forward, >= 2 backward
    assert summary["categories"][profile_step.OPTIMIZER]["ms"] > 0
    table = profile_step.format_table(summary)
    assert "matmuls and convolutions" in table and "% of the wall time" in table


@pytest.mark.only_backend("tensorflow")
def test_an_empty_trace_is_an_error_not_an_empty_table():
    with pytest.raises(ValueError, match="no op events"):
        profile_step.summarize([], steps=1, wall_s=1.0)


@pytest.mark.only_backend("tensorflow")
def test_self_time_excludes_nested_ops_and_busy_time_merges_threads():
    us = 1_000_000  # picoseconds
    events = [
        OpEvent(1, 0, 10 * us, "f", "PartitionedCall"),
        OpEvent(1, 2 * us, 3 * us, "f/MatMul", "MatMul"),
        OpEvent(2, 8 * us, 4 * us, "adam/Mul", "Mul"),
    ]
    assert profile_step.self_times(events) == [7 * us, 3 * us, 4 * us]
    assert profile_step.busy_ps(events) == 12 * us
    summary = profile_step.summarize(events, steps=2, wall_s=24e-6)
    assert summary["op_ms"] == pytest.approx(7e-3)  # 14 us over 2 steps, in ms
    assert summary["coverage"] == pytest.approx(0.5)
    assert summary["categories"][profile_step.OPTIMIZER]["op_types"] == {
        "Mul": pytest.approx(2e-3)
    }


@pytest.mark.only_backend("tensorflow")
def test_ops_are_grouped_by_scope_then_type():
    categorize = profile_step.categorize
    assert categorize("Mul", "adam/Mul_3") == profile_step.OPTIMIZER
    assert categorize("ReadVariableOp", "adam/Sub/ReadVariableOp") == (
        profile_step.OPTIMIZER
    )
    assert categorize("StatelessRandomUniformV2", "umdf_1/x") == profile_step.DROPOUT
    assert categorize("Mul", "umdf_1/ffn_dropout_1/Mul") == profile_step.DROPOUT
    assert categorize("ConcatV2", "umdf_1/mcim_0_1/concat") == profile_step.COPIES
    assert categorize("Conv2DBackpropFilter", "g/c") == profile_step.MATMUL
    assert categorize("Mul", "umdf_1/a/layer_norm_1/mul") == profile_step.LAYER_NORM
    assert categorize("Mul", "umdf_1/mcim_0_1/mul") == profile_step.ELEMENTWISE
    # oneDNN's kernels count as the ops they replace.
    assert categorize("_MklBatchMatMulV2", "umdf_1/a/MatMul") == profile_step.MATMUL
    assert categorize("_MklEinsum", "umdf_1/a/einsum") == profile_step.MATMUL
    assert categorize("_MklSoftmax", "umdf_1/a/Softmax") == profile_step.SOFTMAX
    assert categorize("_MklTranspose", "umdf_1/a/t") == profile_step.COPIES
    assert categorize("_MklNativeConv2D", "umdf_1/a/c") == profile_step.MATMUL
    assert profile_step.tensorflow_type("_Mkl") == "_Mkl"


# The TensorFlow profiling scripts share these.
SCRIPTS = pytest.mark.parametrize("script", [profile_step, profile_memory])


@pytest.mark.only_backend("tensorflow")
@SCRIPTS
def test_an_existing_json_file_is_never_overwritten(script, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text("{}")
    with pytest.raises(SystemExit):
        script.parse_args(["--json", str(path)])
    assert path.read_text() == "{}"


@pytest.mark.only_backend("tensorflow")
@SCRIPTS
def test_other_backends_are_refused_with_the_fix(script, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    args = script.parse_args(["--architecture", "tiny"])
    with pytest.raises(SystemExit, match="backend is 'jax'.*KERAS_BACKEND=tensorflow"):
        script.profile(args)
