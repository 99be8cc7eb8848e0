"""The PyTorch-backend step profile (`benchmarks/profile_torch_step.py`)."""

import pytest

from benchmarks import profile_torch_step


@pytest.mark.only_backend("torch")
def test_profiles_each_precision_and_restores_the_policy(capsys):
    import keras

    code = profile_torch_step.main(
        [
            "--architecture=tiny",
            "--batch-size=2",
            "--steps=1",
            "--warmup=1",
            "--precisions=float32,mixed_bfloat16",
            "--threads=1",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    for precision in ("float32", "mixed_bfloat16"):
        assert f"== {precision}, batch 2, " in printed
    assert "ms per training step" in printed
    # The operator table lists the step's matrix products.
    assert "aten::" in printed
    assert keras.config.dtype_policy().name == "float32"


def test_gpu_headline_gives_the_busy_share():
    figures = {
        "precision": "float32",
        "device": "GPU",
        "wall_ms": 200.0,
        "kernel_ms": 50.0,
        "kernels_per_step": 1700.0,
    }
    line = profile_torch_step.headline(figures, 128)
    assert "GPU kernels 50.0 ms (25% of the wall time), 1700 kernels per step" in line


def test_bad_counts_are_refused_with_the_values(capsys):
    with pytest.raises(SystemExit):
        profile_torch_step.parse_args(["--steps=0"])
    assert "received 128, 0, 3, 12" in capsys.readouterr().err
