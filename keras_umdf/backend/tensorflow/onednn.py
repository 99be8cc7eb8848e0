"""TensorFlow's oneDNN CPU kernels: preferring them, and telling whether they run.

`keras_umdf.onednn` is the public face of this module and documents the
choice. Nothing here imports Keras or TensorFlow at import time: `prefer_onednn`
must run before TensorFlow loads.
"""

import os
import sys
import warnings

VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
_warned = False
_enabled = None  # onednn_enabled's answer, once TensorFlow is loaded


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

    TensorFlow has no public query, so this asks its graph rewriter: a matrix
    product run in a `tf.compat.v1.Session` on the CPU is rewritten to oneDNN's
    `_MklMatMul` exactly when the kernels are on. The answer is computed once
    (about 0.2 s) and kept: TensorFlow fixes the setting when it loads.

    Returns:
        True or False once TensorFlow is imported; None before (importing it
        here would fix the setting).
    """
    global _enabled
    if "tensorflow" not in sys.modules:
        return None
    if _enabled is None:
        _enabled = _rewrites_to_onednn()
    return _enabled


def _rewrites_to_onednn() -> bool:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default(), tf.device("/CPU:0"):
        a = tf.compat.v1.placeholder(tf.float32, (2, 2))
        product = tf.linalg.matmul(a, a)
    config = tf.compat.v1.ConfigProto(device_count={"GPU": 0})
    metadata = tf.compat.v1.RunMetadata()
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        session.run(
            product,
            {a: [[1.0, 0.0], [0.0, 1.0]]},
            options=tf.compat.v1.RunOptions(output_partition_graphs=True),
            run_metadata=metadata,
        )
    return any(
        node.op.startswith("_Mkl")
        for partition in metadata.partition_graphs
        for node in partition.node
    )


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
    if _warned or VARIABLE in os.environ or "tensorflow" not in sys.modules:
        return False
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU") or onednn_enabled() is not False:
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
