"""KerasTuner searches of UMDF's distillation weights lambda_1 and lambda_2.

The paper does not publish its lambda_1 (`lambda_fea`) and lambda_2
(`lambda_logits`); `search` finds them with KerasTuner (random search, Bayesian
optimisation or Hyperband), on one machine or as a chief and workers, with a
validation task metric as the objective. `keras-umdf tune` runs it from the
command line.

Example:

```python
import keras_umdf
import tuning

data = keras_umdf.data.synthetic("mosi", scale=0.1)
results = tuning.search(data, "runs/search", tuner="bayesian", max_trials=20,
                        epochs=10, num_heads=10)
print(results["best"])
```
"""

# keras_umdf first: TensorFlow then loads with its oneDNN setting (keras_umdf.onednn).
import keras_umdf  # noqa: F401, I001

from tuning.distributed import DistributedSettings
from tuning.hypermodel import UMDFHyperModel
from tuning.incomplete_conditions_average import IncompleteConditionsAverage
from tuning.objectives import OBJECTIVE_METRICS
from tuning.objectives import TaskObjective
from tuning.results import write_results
from tuning.search import search
from tuning.search_space import SearchSpace
from tuning.tuners import TUNER_NAMES
from tuning.tuners import make_tuner
