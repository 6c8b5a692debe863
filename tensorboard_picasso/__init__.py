"""tensorboard-picasso: explanation maps of probe images at every checkpoint, in TensorBoard.

The training side (`PicassoCallback`, `ExplanationLogger`, `log_explanations`) needs
TensorFlow and is imported lazily, so the TensorBoard side (`plugin`, `summary.format`)
works without it.
"""

__version__ = "0.1.0"

_LAZY = {
    "PicassoCallback": "tensorboard_picasso.callback",
    "ExplanationLogger": "tensorboard_picasso.logger",
    "log_explanations": "tensorboard_picasso.logger",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tensorboard_picasso' has no attribute {name!r}")
