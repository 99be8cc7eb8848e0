"""The paper's building blocks as Keras layers."""

from keras_umdf.layers.crossmodal_attention import CrossmodalAttention
from keras_umdf.layers.dynamic_feature_integration import DynamicFeatureIntegration
from keras_umdf.layers.feature_normalization import FeatureNormalization
from keras_umdf.layers.modality_imagination import ModalityImagination
from keras_umdf.layers.modality_projection import ModalityProjection
from keras_umdf.layers.multi_grained_crossmodal_interaction import (
    MultiGrainedCrossmodalInteraction,
)
from keras_umdf.layers.positional_embedding import PositionalEmbedding
from keras_umdf.layers.transformer_encoder import TransformerEncoder
