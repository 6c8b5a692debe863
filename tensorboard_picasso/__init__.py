"""tensorboard-picasso: explanation maps of probe images at every checkpoint, in TensorBoard.

The training side is imported on first use: `PicassoCallback` needs Keras 3 (any
backend), `ExplanationLogger` and `log_explanations` need the library the model comes
from, `tensorboard_picasso.pytorch.TorchExplanationLogger` only PyTorch. The TensorBoard
side (`plugin`, `reader`, `summary`) imports none of them.
"""

__version__ = "0.2.0"

_LAZY = {
    "PicassoCallback": "tensorboard_picasso.callback",
    "ExplanationLogger": "tensorboard_picasso.logger",
    "log_explanations": "tensorboard_picasso.logger",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tensorboard_picasso' has no attribute {name!r}")
