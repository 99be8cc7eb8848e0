"""Search UMDF's distillation weights lambda_1 and lambda_2 with KerasTuner.

A small random search on synthetic MOSI (a tenth of its clips, a smaller model, two
epochs per trial) that finishes in minutes on a CPU; for the real search use your
data (`keras_umdf.data.load_dataset("mosi_data.pkl")`), the paper's model
(`hidden_dim=40, num_layers=4`) and more trials and epochs, or the command line:
`keras-umdf tune --dataset mosi_data.pkl --tuner bayesian --directory runs/tune`.

    python examples/tune_lambdas.py [DIRECTORY]

Run it again with the same directory to resume (or extend, with more trials).
"""

import sys

import keras_umdf
import tuning

directory = sys.argv[1] if len(sys.argv) > 1 else "runs/tune_lambdas"
data = keras_umdf.data.synthetic("mosi", seed=0, scale=0.1)

space = tuning.SearchSpace(
    lambda_fea=(0.01, 10.0),  # log scale
    lambda_logits=(0.01, 10.0),
    # With True (the default) each lambda is also tried at 0, the paper's
    # ablations: half the random trials per term. Six trials go to weights > 0.
    lambda_off=False,
    learning_rate=(3e-4, 3e-3),
)
results = tuning.search(
    data,
    directory,
    tuner="random",  # or "bayesian", "hyperband"
    max_trials=6,
    epochs=2,
    batch_size=32,
    search_space=space,
    objective="mae",  # validation MAE, lower is better (never val_loss)
    hidden_dim=20,
    num_heads=5,
    num_layers=1,
    verbose=2,  # one line per epoch
)

best = results["best"]
print(
    f"\nBest of {results['num_trials']} trials: val MAE {best['score']:.3f} with "
    f"lambda_fea={best['lambda_fea']:.3g}, lambda_logits={best['lambda_logits']:.3g}, "
    f"learning rate {best['learning_rate']:.2g}."
)
print(f"All trials: {directory}/results.md; best model: {directory}/best_model.keras")
