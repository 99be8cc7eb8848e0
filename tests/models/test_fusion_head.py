"""FusionHead (DFIM, encoder, prediction head) and DistillationRamp."""

import numpy as np
from keras import ops

from keras_umdf.models import DistillationRamp
from keras_umdf.models import FusionHead


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def test_fusion_head_reads_one_frame_per_clip(rng):
    head = FusionHead(3, joint_width=8, encoder_heads=2, dropout=0.0)
    h_a = rng.normal(size=(4, 6, 8)).astype("float32")
    h_b = rng.normal(size=(4, 6, 8)).astype("float32")
    index = np.array([5, 2, 0, 5], "int32")
    out = head(h_a, h_b, index)
    assert tuple(out.shape) == (4, 3)
    assert ops.convert_to_numpy(out).dtype == np.float32
    # Clip 1 read at frame 2 is clip 1 read at frame 2 in any batch.
    alone = head(h_a[1:2], h_b[1:2], index[1:2])
    np.testing.assert_allclose(numpy(alone), numpy(out)[1:2], rtol=1e-5, atol=1e-5)
    config = head.get_config()
    assert FusionHead.from_config(config).get_config() == config


def test_ramp_counts_steps_up_to_the_full_weight():
    ramp = DistillationRamp(4)
    shares = [float(numpy(ramp.advance())) for _ in range(6)]
    assert shares == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert float(numpy(ramp.step)) == 4.0
    restored = DistillationRamp.from_config(ramp.get_config())
    assert restored.warmup_steps == 4 and not restored.trainable_weights
    assert len(ramp.weights) == 1
