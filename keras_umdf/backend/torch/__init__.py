"""PyTorch-only code: the attention kernel."""
