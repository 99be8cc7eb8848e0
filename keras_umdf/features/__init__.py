"""From raw clips to UMDF's input: one feature extractor per modality, offline.

An optional part of keras_umdf (`pip install "keras-umdf[features]"`): the
extractors' libraries are imported when an extractor is first used, so
`import keras_umdf.features` needs none of them.

- `Clip`, `Word`, `Frames`, `Extractor`: what every extractor takes and
  returns (`keras_umdf/features/base.py`).
- `AcousticDescriptors` (audio), `FaceDescriptors` (vision) and
  `SentenceEncoderStates` (text): the extractors.
- `media.py`: decoding (and writing) media files with PyAV.
- `align.py`, `assemble.py`: every modality onto one time axis (averaged over
  each word's interval, or over equal stretches of the clip), one clip's
  arrays.
- `manifest.py`, `extraction.py`, `store.py`: the manifest of clips, the
  extraction run behind `keras-umdf features` (workers, resuming, errors) and
  the folder it writes, which `keras_umdf.data.load_dataset` reads.
- `demo_clips.py`: clips made on the spot, for the example and the tests.
"""

from keras_umdf.features.base import Clip
from keras_umdf.features.base import Extractor
from keras_umdf.features.base import Frames
from keras_umdf.features.base import Word
from keras_umdf.lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AcousticDescriptors": "audio",
        "FaceDescriptors": "vision",
        "SentenceEncoderStates": "text",
        "read_audio": "media",
        "read_video_frames": "media",
    },
    globals(),
)

__all__ = ["Clip", "Extractor", "Frames", "Word"]
