"""PicassoCallback: log explanation maps of a fixed probe set while `model.fit` trains."""

import keras

from tensorboard_picasso.logger import ExplanationLogger
from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.summary.layout import BEFORE_TRAINING_STEP


class PicassoCallback(keras.callbacks.Callback):
    """Logs maps and class probabilities of probe images for TensorBoard's Picasso tab.

    Writes to `<log_dir>/picasso`, beside the `train`/`validation` runs of
    `keras.callbacks.TensorBoard(log_dir)`, so both share one `log_dir`. The untrained
    model is logged before the first epoch at step -1 ("before training"); after epoch e
    the maps are logged at step e, the step of Keras' `epoch_loss`. With `every_n_batches`
    the step is the optimizer's iteration count, as for Keras' batch-level scalars.
    Everything is validated in `on_train_begin`, before any epoch runs.

    Example:

        log_dir = "logs/run1"
        model.fit(x, y, epochs=10, callbacks=[
            keras.callbacks.TensorBoard(log_dir),
            PicassoCallback(log_dir, images=x_val[:16], labels=y_val[:16],
                            class_names=names, methods=["occlusion", "saliency", "gradcam"]),
        ])

    Args:
      log_dir: the TensorBoard log directory.
      images: probe images (N, H, W, C) or a tf.data.Dataset of (x[, y]) batches.
      labels, class_names, methods, target, preprocess, output, batch_size, top_k,
      max_images, display_range, metrics, masks, faithfulness_steps: as for
      `ExplanationLogger`.
      every_n_epochs: log after every N-th epoch (default 1).
      every_n_batches: log every N training batches instead of per epoch.
      log_before_training: also log the untrained model at step -1.
      verbose: 1 prints one line per logging round with each method's time.
    """

    def __init__(self, log_dir, images, labels=None, class_names=None, methods=None,
                 every_n_epochs=1, every_n_batches=None, target="predicted",
                 preprocess=None, output=None, batch_size=None, top_k=5, max_images=16,
                 display_range=None, metrics=None, masks=None, faithfulness_steps=16,
                 log_before_training=True, verbose=1):
        super().__init__()
        self.every_n_epochs = check_positive_int(every_n_epochs, "every_n_epochs")
        self.every_n_batches = None if every_n_batches is None else check_positive_int(
            every_n_batches, "every_n_batches")
        self.log_before_training = log_before_training
        self.verbose = verbose
        self.logger = ExplanationLogger(
            log_dir, None, images, labels=labels, class_names=class_names, methods=methods,
            target=target, preprocess=preprocess, output=output, batch_size=batch_size,
            top_k=top_k, max_images=max_images, display_range=display_range,
            metrics=metrics, masks=masks, faithfulness_steps=faithfulness_steps)
        self._logged_before_training = False
        self._pending_message = None

    def on_train_begin(self, logs=None):
        self.logger.bind(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._print_pending()
        if epoch == 0 and self.log_before_training and not self._logged_before_training:
            self._log(BEFORE_TRAINING_STEP, epoch=None)
            self._logged_before_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_batches is None and (epoch + 1) % self.every_n_epochs == 0:
            self._log(epoch, epoch=epoch)

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_batches is not None:
            iteration = int(self.model.optimizer.iterations.numpy())
            if iteration % self.every_n_batches == 0:
                self._log(iteration, batch=iteration)

    def on_train_end(self, logs=None):
        self._print_pending()
        self.logger.close()

    def _log(self, step, epoch=None, batch=None):
        seconds = self.logger.log(step, epoch=epoch, batch=batch)
        if self.verbose:
            label = "before training" if step == BEFORE_TRAINING_STEP else f"step {step}"
            methods = ", ".join(m.name for m in self.logger.methods)
            self._pending_message = (f"Picasso: logged {label} ({methods}) in "
                                     f"{seconds:.2f}s -> {self.logger.run_dir}")
            if epoch is None:   # not at an epoch's end: Keras' progress bar is not busy
                self._print_pending()

    def _print_pending(self):
        """Print the last round's line; at an epoch's end Keras' progress bar (the last
        callback) has not finished its line yet, so the line waits for the next epoch."""
        if self._pending_message:
            print(self._pending_message, flush=True)
            self._pending_message = None
