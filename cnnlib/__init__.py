"""cnnlib: the library of the course "Redes Convolucionais para classificação de imagens".

Importing ``cnnlib`` registers its Keras layers and blocks for ``.keras`` saving, so a
saved model loads with ``keras.models.load_model(path)`` after ``import cnnlib``.
Other modules (``cnnlib.data``, ``cnnlib.gan``, ...) are imported on first use.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "augment", "blocks", "data", "gan", "gradcheck", "layers", "metrics", "models",
    "reference", "transfer", "viz",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnlib.{name}")
    raise AttributeError(f"module 'cnnlib' has no attribute {name!r}")


# Registers the serializable Keras objects (layers, blocks) for .keras loading.
from cnnlib import blocks, layers  # noqa: E402,F401
