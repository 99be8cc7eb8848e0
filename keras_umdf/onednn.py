"""TensorFlow's oneDNN CPU kernels: on by default for keras_umdf's processes.

TensorFlow's pip wheels compute on the CPU with Eigen kernels built for AVX
(TensorFlow says so when it starts: "To enable the following instructions: AVX2
FMA ... rebuild TensorFlow"), or with oneDNN's kernels, which pick the CPU's
best instructions at run time. TensorFlow turns oneDNN on by itself only on
some CPUs; on the others it stays off unless the environment variable
`TF_ENABLE_ONEDNN_OPTS=1` is set before TensorFlow loads (on the 2-core AMD
EPYC with AVX2 and FMA we develop on, TensorFlow 2.21 left it off).

UMDF's step is mostly batched matrix products of tiny heads (k = 4); there
oneDNN's kernels are about 3x faster than Eigen's, and with the attention's
products written as plain batched matmuls the training step at the paper's
configuration, batch 16, went from 954 to 732 ms (README, Performance). So
`import keras_umdf` sets `TF_ENABLE_ONEDNN_OPTS=1`, through `prefer_onednn`,
when both hold:

- the variable is not set: a value the user chose, "0" included, is kept;
- TensorFlow is not imported yet: TensorFlow reads the variable once, when it
  loads, so after that setting it would change nothing. Import keras_umdf
  before keras or tensorflow (the `keras-umdf` commands do), or set the
  variable yourself. When it was too late and TensorFlow runs without oneDNN,
  compiling a UMDF or SDUMC model to train on the CPU warns once
  (`warn_if_off`), naming both fixes.

oneDNN computes the same operations in another order: results differ from
Eigen's in the last bits of float32 ("slightly different numerical results due
to floating-point round-off", TensorFlow's own log line), and a seed reproduces
a run only with the same setting. `TF_ENABLE_ONEDNN_OPTS=0` keeps Eigen's
kernels. JAX and PyTorch are not affected; keras_umdf's tf.data pipelines run
on TensorFlow under every backend and take the setting too.
"""

import os
import sys
import warnings

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
_warned = False


def prefer_onednn() -> bool:
    """Sets `TF_ENABLE_ONEDNN_OPTS=1` if it is unset and TensorFlow not loaded.

    Returns:
        Whether this call set it.
    """
    if VARIABLE in os.environ or "tensorflow" in sys.modules:
        return False
    os.environ[VARIABLE] = "1"
    return True


def onednn_enabled() -> bool | None:
    """Whether this process's TensorFlow runs its oneDNN kernels.

    Returns:
        True or False once TensorFlow is imported; None before (importing it
        here would fix the setting), or when it cannot tell (a TensorFlow
        without the query).
    """
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def warn_if_off() -> bool:
    """Warns, once per process, when the models would train on TensorFlow's
    CPU kernels without oneDNN only because TensorFlow loaded first.

    That is: the Keras backend is TensorFlow, it sees no GPU, oneDNN is off
    and `TF_ENABLE_ONEDNN_OPTS` is unset (a value the user chose, "0"
    included, is respected silently). UMDF's and SDUMC's `compile` call it.

    Returns:
        Whether this call warned.
    """
    global _warned
    if _warned or VARIABLE in os.environ or onednn_enabled() is not False:
        return False
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    _warned = True
    warnings.warn(
        "TensorFlow's oneDNN CPU kernels are off: TensorFlow was imported before "
        f"keras_umdf could set {VARIABLE}=1, and UMDF trains about 1.3x slower "
        "with TensorFlow's other CPU kernels (README, Performance). Import "
        f"keras_umdf before keras and tensorflow, or set {VARIABLE}=1 in the "
        f"environment before Python starts; {VARIABLE}=0 keeps the other kernels "
        "and silences this warning.",
        stacklevel=4,  # the user's compile call
    )
    return True
