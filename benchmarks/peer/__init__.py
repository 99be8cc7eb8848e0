"""The PyTorch peer: the same UMDF network written in plain eager PyTorch."""
