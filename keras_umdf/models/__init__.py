"""The models: a shared backbone and the tasks built on it (UMDF, SDUMC)."""

from keras_umdf.models.backbone import MultimodalBackbone
from keras_umdf.models.distillation_ramp import DistillationRamp
from keras_umdf.models.fusion_head import FusionHead
from keras_umdf.models.multimodal_task import MultimodalTask
from keras_umdf.models.sdumc import SDUMC
from keras_umdf.models.umdf import UMDF
from keras_umdf.models.umdf_with_sdumc_parts import UMDFWithSDUMCParts
