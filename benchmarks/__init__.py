"""The keras_umdf benchmarks; run them from the repository root as modules,
e.g. `python -m benchmarks.run` (see benchmarks/README.md)."""
