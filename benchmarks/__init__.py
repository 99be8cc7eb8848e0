"""The keras_umdf performance benchmark; run it with `python benchmarks/run.py`."""
