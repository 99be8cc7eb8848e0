"""Loss functions of the self-distillation, computed in float32."""

from keras_umdf.losses.jensen_shannon_divergence import JensenShannonDivergence
from keras_umdf.losses.jensen_shannon_divergence import jensen_shannon_divergence
from keras_umdf.losses.maximum_mean_discrepancy import MaximumMeanDiscrepancy
from keras_umdf.losses.maximum_mean_discrepancy import maximum_mean_discrepancy
