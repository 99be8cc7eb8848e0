"""The one place where public classes are registered for Keras serialization."""

import keras

PACKAGE = "keras_umdf"


def keras_umdf_export(cls):
    """Registers `cls` as `keras_umdf>ClassName` so `keras.saving.load_model` finds it.

    Importing `keras_umdf` is then all a user needs before loading a `.keras` file
    that contains the class.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
