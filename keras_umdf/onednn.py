"""TensorFlow's oneDNN CPU kernels: on by default for keras_umdf's processes.

TensorFlow's pip wheels compute on the CPU with Eigen kernels built for AVX
(TensorFlow says so when it starts: "To enable the following instructions: AVX2
FMA ... rebuild TensorFlow"), or with oneDNN's kernels, which pick the CPU's
best instructions at run time. TensorFlow turns oneDNN on by itself only on
some CPUs (those with AVX-512 VNNI, AVX-512 BF16 or AMX); on the others it
stays off unless the environment variable `TF_ENABLE_ONEDNN_OPTS=1` is set
before TensorFlow loads.

UMDF's step is mostly batched matrix products of tiny heads (k = 4), where
oneDNN's kernels are much faster than Eigen's (figures and the command that
measures them: docs/performance.md).

The one change to the process environment: `import keras_umdf` calls
`prefer_onednn`, which sets `TF_ENABLE_ONEDNN_OPTS=1` in `os.environ` when
both hold:

- the variable is not set: a value the user chose, "0" included, is kept;
- TensorFlow is not imported yet: TensorFlow reads the variable once, when it
  loads, so after that setting it would change nothing.

It is kept, rather than left to the user, because the `keras-umdf` commands
and most users train on CPUs where TensorFlow would otherwise leave the faster
kernels off, and because it only chooses what TensorFlow already chooses on
newer CPUs. Like any `os.environ` entry it is inherited by child processes.

To opt out, set the variable yourself before importing keras_umdf:
`TF_ENABLE_ONEDNN_OPTS=0` keeps Eigen's kernels (and silences the warning
below), `TF_ENABLE_ONEDNN_OPTS=1` asks for oneDNN; importing TensorFlow before
keras_umdf also leaves the environment untouched. When TensorFlow was imported
first and runs without oneDNN on the CPU, compiling a UMDF or SDUMC model warns
once (`warn_if_off`), naming these choices. `onednn_enabled()` says what the
process runs.

oneDNN computes the same operations in another order: results differ from
Eigen's in the last bits of float32 ("slightly different numerical results due
to floating-point round-off", TensorFlow's own log line), and a seed reproduces
a run only with the same setting. JAX and PyTorch are not affected;
keras_umdf's tf.data pipelines run on TensorFlow under every backend and take
the setting too.

The implementation is `keras_umdf.backend.tensorflow.onednn`.
"""

from keras_umdf.backend.tensorflow.onednn import VARIABLE
from keras_umdf.backend.tensorflow.onednn import onednn_enabled
from keras_umdf.backend.tensorflow.onednn import prefer_onednn
from keras_umdf.backend.tensorflow.onednn import warn_if_off

__all__ = ["VARIABLE", "onednn_enabled", "prefer_onednn", "warn_if_off"]
