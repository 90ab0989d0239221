"""The scikit-image photographs, split once into training scenes and test scenes.

The default model's build (default_model/builder.py) sees only TRAINING_SCENES; every claim
about real images (the tests, the benchmarks, the model card) rests on TEST_SCENES and on the
test person, the astronaut. The two sets are disjoint (tested), so no test frame was ever
seen in training. Both are photographs that ship inside the scikit-image wheel (no download).
"""

from __future__ import annotations

import numpy as np

TRAINING_PERSON = "camera"  # the photographer: a real face, small and turned, read weakly sad
TRAINING_SCENES = ("chelsea", "coins", "horse", "retina", "cell", "logo")  # nobody in them
TEST_PERSON = "astronaut"  # the one real, labelled expression offline: a smile
TEST_SCENES = ("coffee", "rocket", "brick", "grass", "gravel", "page", "colorwheel", "immunohistochemistry",
               "hubble_deep_field", "moon", "text", "clock")  # nobody in them


def photograph(name: str) -> np.ndarray:
    """A scikit-image photograph (skimage.data.<name>) as (H, W, 3) uint8 RGB."""
    from skimage import data, img_as_ubyte

    image = img_as_ubyte(getattr(data, name)())
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else np.ascontiguousarray(image[..., :3])
