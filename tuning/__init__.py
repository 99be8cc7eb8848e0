"""KerasTuner searches of UMDF's distillation weights (lambda_1, lambda_2); see issue 6."""
