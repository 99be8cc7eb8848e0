"""Loss functions of the self-distillation (computed in float32)."""
