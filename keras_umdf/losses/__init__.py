"""Loss functions of the self-distillation, computed in float32."""

from keras_umdf.losses.jensen_shannon_divergence import JensenShannonDivergence
from keras_umdf.losses.jensen_shannon_divergence import jensen_shannon_divergence
from keras_umdf.losses.maximum_mean_discrepancy import MaximumMeanDiscrepancy
from keras_umdf.losses.maximum_mean_discrepancy import maximum_mean_discrepancy
from keras_umdf.losses.rank_n_contrast import RankNContrast
from keras_umdf.losses.rank_n_contrast import rank_n_contrast
