"""Where a clip's joint representation is read: its last real frame."""

from __future__ import annotations

from keras import ops

READOUTS = ("last_present", "last")
"""`"last_present"`: each clip's last frame where any modality is present (the
last real frame whichever side the padding is on); `"last"`: position T - 1,
the paper's "last element" read literally (a real frame only for front-padded
data)."""


def frame_presence(features, mask=None):
    """Bool (batch, T): frames with a nonzero feature, and set in `mask` if given.

    Both conditions: the data pipeline's masks mark the frames a view keeps,
    and zero padding counts as kept where a file gives no lengths, so only a
    nonzero frame is taken as real.
    """
    present = ops.any(ops.not_equal(features, 0), axis=-1)
    if mask is not None:
        present = ops.logical_and(present, ops.cast(mask, "float32") > 0)
    return present


def readout_index(presence, readout: str = "last_present"):
    """Int32 (batch,): the frame each clip is read at.

    Args:
        presence: bool (batch, T), the frames where any modality is present.
        readout: one of `READOUTS`. A clip with no present frame is read at
            T - 1, as with "last".
    """
    length = ops.shape(presence)[1]
    last = ops.cast(length - 1, "int32")
    if readout == "last":
        return ops.zeros((ops.shape(presence)[0],), "int32") + last
    reversed_presence = ops.flip(ops.cast(presence, "int32"), axis=1)
    from_end = ops.cast(ops.argmax(reversed_presence, axis=1), "int32")
    any_present = ops.any(presence, axis=1)
    return ops.where(any_present, last - from_end, last)


def gather_frames(sequence, index):
    """(batch, T, d) at (batch,) frame indices -> (batch, d)."""
    index = ops.reshape(ops.cast(index, "int32"), (-1, 1, 1))
    return ops.take_along_axis(sequence, index, axis=1)[:, 0, :]
