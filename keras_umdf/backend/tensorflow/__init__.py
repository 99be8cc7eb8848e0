"""TensorFlow-only code: kernels, the one-op Adam update, strategies, oneDNN.

Nothing is imported here, so that `tensorflow.onednn` can run before Keras and
TensorFlow load.
"""
