"""PyTorch Lightning: `PicassoLightningCallback`, TorchExplanationLogger on the Trainer's
schedule.

    import lightning.pytorch as pl
    from tensorboard_picasso.lightning import PicassoLightningCallback

    trainer = pl.Trainer(max_epochs=5, callbacks=[
        PicassoLightningCallback(probe_images, labels=probe_labels, class_names=names)])
    trainer.fit(model, train_loader)

The rounds go into the run of the Trainer's TensorBoardLogger, beside its loss curves (or
to `<log_dir>/picasso` when `log_dir` is given). The untrained model is logged before
training at step -1; after each training epoch a round is logged at the Trainer's
`global_step`, the step of Lightning's own scalars, with the epoch in its header.
"""

from __future__ import annotations

import os
from typing import Any

import lightning.pytorch as pl

from tensorboard_picasso.logger import ARGUMENTS_DOC
from tensorboard_picasso.pytorch import TorchExplanationLogger
from tensorboard_picasso.summary.layout import BEFORE_TRAINING_STEP


class PicassoLightningCallback(pl.Callback):
    __doc__ = f"""Logs maps of probe images for TensorBoard's Picasso tab while a
    `lightning.pytorch.Trainer` fits (on the global-zero process only).

    Args:
      images: probe images (N, C, H, W), a tensor or an array, in the model's input range.
      log_dir: a TensorBoard log directory (rounds go to `<log_dir>/picasso`); default the
        run of the Trainer's TensorBoardLogger.
{ARGUMENTS_DOC}      log_before_training: also log the untrained model at step -1 (default
        True; not when the fit resumes from a checkpoint).
    Other keyword arguments go to TorchExplanationLogger (e.g. `preprocess`).
    Everything is validated in `on_fit_start`, before the first epoch.
    """

    def __init__(self, images: Any, log_dir: str | os.PathLike | None = None,
                 log_before_training: bool = True, **logger_arguments: Any) -> None:
        super().__init__()
        self.images = images
        self.log_dir = log_dir
        self.log_before_training = bool(log_before_training)
        self.logger_arguments = logger_arguments
        self.logger: TorchExplanationLogger | None = None

    def _destination(self, trainer: pl.Trainer) -> Any:
        if self.log_dir is not None:
            return self.log_dir
        for logger in trainer.loggers:
            if isinstance(logger, pl.loggers.TensorBoardLogger):
                return logger.experiment     # a torch or tensorboardX SummaryWriter
        raise ValueError("PicassoLightningCallback needs a TensorBoardLogger on the "
                         "Trainer (its default logger) or log_dir=<a TensorBoard log "
                         "directory>")

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        self.logger = TorchExplanationLogger(self._destination(trainer), pl_module,
                                             self.images, **self.logger_arguments)
        if self.log_before_training and trainer.global_step == 0:
            self.logger.log(BEFORE_TRAINING_STEP)

    def on_train_epoch_end(self, trainer: pl.Trainer,
                           pl_module: pl.LightningModule) -> None:
        if self.logger is not None:
            self.logger.log(trainer.global_step, epoch=trainer.current_epoch)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.logger is not None:
            self.logger.close()
