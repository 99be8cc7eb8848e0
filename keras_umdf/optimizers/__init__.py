"""The optimizer UMDF trains with: the paper's Adam, its step size warmed up
(`LinearWarmup`, design decision 13); `adam()` builds the default."""

from keras_umdf.optimizers.adam import Adam
from keras_umdf.optimizers.adam import adam
from keras_umdf.optimizers.linear_warmup import WARMUP_STEPS
from keras_umdf.optimizers.linear_warmup import LinearWarmup
from keras_umdf.optimizers.linear_warmup import check_learning_rate
