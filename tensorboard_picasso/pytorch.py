"""Picasso for plain PyTorch training loops: `TorchExplanationLogger`.

    from tensorboard_picasso.pytorch import TorchExplanationLogger

    logger = TorchExplanationLogger("runs/exp1", model, probe_images, labels=probe_labels)
    for epoch in range(epochs):
        train_one_epoch(model)
        logger.log(epoch)
    logger.close()

`probe_images` are (N, C, H, W), as PyTorch models take them (tensors or arrays); the maps
are (N, H, W) per class as everywhere in Picasso. The same methods and quality metrics as
for Keras run with `torch.autograd` (methods/torch_model.py); nothing needs TensorFlow or
Keras. Rounds go to `<log_dir>/picasso`, or into the run of an existing
`torch.utils.tensorboard.SummaryWriter` / tensorboardX `SummaryWriter` passed as
`log_dir`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from tensorboard_picasso.logger import ARGUMENTS_DOC, ExplanationLogger
from tensorboard_picasso.writers import SummaryWriterAdapter


def _numpy(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.detach().cpu().numpy()
    return value


def _channels_last(images: Any) -> np.ndarray:
    array = np.asarray(_numpy(images))
    if array.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {array.shape}; for one "
                         "image use images[None]")
    return array.transpose(0, 2, 3, 1)


class TorchExplanationLogger(ExplanationLogger):
    __doc__ = f"""Explains a fixed probe set under a `torch.nn.Module` and logs each round.

    Args:
      log_dir: the TensorBoard log directory (rounds go to `<log_dir>/picasso`), or a
        `torch.utils.tensorboard.SummaryWriter` / tensorboardX `SummaryWriter` whose run
        receives them.
      model: the classifier: (N, C, H, W) float images -> class scores (N, classes),
        logits or probabilities. It runs in eval mode while Picasso computes and goes
        back to its mode afterwards; its parameters get no gradients.
      images: probe images (N, C, H, W), a tensor or an array, in the model's input range
        (before `preprocess`).
{ARGUMENTS_DOC}      preprocess: here a function on (N, C, H, W) tensors (e.g. normalisation).
      progress: called as progress(method, done, total) while a method runs.
    """

    def __init__(self, log_dir: str | os.PathLike | Any, model: torch.nn.Module | None,
                 images: Any, labels: Any = None, masks: Any = None,
                 **kwargs: Any) -> None:
        writer = None
        if not isinstance(log_dir, (str, os.PathLike)):
            writer = SummaryWriterAdapter(log_dir)
            log_dir = writer.run_dir
        super().__init__(log_dir, None, _channels_last(images), labels=_numpy(labels),
                         masks=_numpy(masks), writer=writer, **kwargs)
        if model is not None:
            self.bind(model)

    def bind(self, model: torch.nn.Module) -> None:  # type: ignore[override]
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}; "
                             "for Keras models use ExplanationLogger or PicassoCallback")
        super().bind(model)
