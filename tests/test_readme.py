"""The README's Python examples run as written, so the README cannot rot."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_blocks():
    with open(os.path.join(ROOT, "README.md")) as file:
        return re.findall(r"```python\n(.*?)```", file.read(), flags=re.DOTALL)


def test_readme_has_a_short_model_fit_example():
    blocks = python_blocks()
    assert blocks, "the README lost its Python example"
    assert "model.fit(" in blocks[0] and len(blocks[0].strip().splitlines()) <= 15


# The example is backend-independent Keras code; PyTorch runs it without the
# minutes of graph tracing (TensorFlow) or compiling (JAX) that the paper-size
# model takes, and the other backends' fit, predict and save are tested elsewhere.
@pytest.mark.slow
@pytest.mark.only_backend("torch")
def test_readme_model_fit_example_runs(tmp_path, subprocess_env):
    result = subprocess.run(
        [sys.executable, "-c", python_blocks()[0]],
        capture_output=True,
        text=True,
        env={**subprocess_env, "PYTHONPATH": ROOT},
        cwd=tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'mae':" in result.stdout and "'non0_f1':" in result.stdout
    assert (tmp_path / "umdf.keras").exists()
