"""PicassoCallback: log explanation maps of a fixed probe set while `model.fit` trains."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import keras

from tensorboard_picasso.budget import TimeBudget
from tensorboard_picasso.logger import ARGUMENTS_DOC, ExplanationLogger, RoundReport
from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.memory import DEFAULT_MEMORY_BOUND
from tensorboard_picasso.methods.targets import TargetSpec
from tensorboard_picasso.summary.layout import BEFORE_TRAINING_STEP, SKIPPED_ROUNDS_TAG

PROGRESS_AFTER_SECONDS = 2.0   # a round longer than this shows its progress
LEGACY_KERAS_MESSAGE = (
    "PicassoCallback needs Keras 3 (any backend: TensorFlow, JAX or PyTorch); this fit "
    "runs on legacy Keras 2 (tf_keras, TF_USE_LEGACY_KERAS=1). Train with Keras 3 "
    "(unset TF_USE_LEGACY_KERAS), or log from your own loop with ExplanationLogger on a "
    "Keras 3 model")


class PicassoCallback(keras.callbacks.Callback):
    __doc__ = f"""Logs maps and class probabilities of probe images for TensorBoard's
    Picasso tab, while `model.fit` trains (Keras 3 on TensorFlow, JAX or PyTorch).

    Writes to `<log_dir>/picasso`, beside the `train`/`validation` runs of
    `keras.callbacks.TensorBoard(log_dir)`, so both share one `log_dir`. The untrained
    model is logged before the first epoch at step -1 ("before training"); after epoch e
    the maps are logged at step e, the step of Keras' `epoch_loss`. With `every_n_batches`
    the step is the optimizer's iteration count, as for Keras' batch-level scalars.
    Everything is validated in `on_train_begin`, before any epoch runs. Logging keeps to a
    time budget (10% of the training time by default): rounds are spaced out when they
    would cost more, but the rounds before training and after the last epoch are always
    logged.

    Example:

        log_dir = "logs/run1"
        model.fit(x, y, epochs=10, callbacks=[
            keras.callbacks.TensorBoard(log_dir),
            PicassoCallback(log_dir, images=x_val[:16], labels=y_val[:16],
                            class_names=names, methods=["occlusion", "saliency", "gradcam"]),
        ])

    Args:
      log_dir: the TensorBoard log directory (the same as Keras' TensorBoard callback's).
      images: probe images (N, H, W, C) in the model's input range, or a tf.data.Dataset
        of x or (x, y) elements (batched or not; the first `max_images` are taken).
{ARGUMENTS_DOC}      every_n_epochs: log after every N-th epoch (default 1).
      every_n_batches: log every N training batches instead of per epoch.
      log_before_training: also log the untrained model at step -1. A fit resumed with
        initial_epoch > 0 instead continues the run it finds in `log_dir` (probe images
        not written again, drift still against the run's first maps).
      budget: the largest share of the training time spent logging (default 0.1: the fit
        takes at most 1.1x as long);
        None logs every scheduled round.
      verbose: 1 prints one line per round (and progress for long rounds), 0 nothing.
    """

    def __init__(self, log_dir: str | os.PathLike, images: Any, labels: Any = None,
                 class_names: Sequence[str] | None = None, methods: Sequence[Any] | None = None,
                 target: TargetSpec | None = None,
                 preprocess: Callable[[Any], Any] | None = None,
                 output: int | str | None = None, batch_size: int | None = None,
                 top_k: int = 5, max_images: int = 16,
                 value_range: tuple[float, float] | None = None,
                 display_range: tuple[float, float] | None = None,
                 metrics: Sequence[str] | None = None, masks: Any = None,
                 faithfulness_steps: int = 6, faithfulness_every: int = 4,
                 memory_limit: int | str = DEFAULT_MEMORY_BOUND,
                 every_n_epochs: int = 1, every_n_batches: int | None = None,
                 log_before_training: bool = True, budget: float | None = 0.1,
                 verbose: int = 1) -> None:
        super().__init__()
        self.every_n_epochs = check_positive_int(every_n_epochs, "every_n_epochs")
        self.every_n_batches = None if every_n_batches is None else check_positive_int(
            every_n_batches, "every_n_batches")
        self.log_before_training = bool(log_before_training)
        self.budget = TimeBudget(budget)
        self.verbose = verbose
        self.logger = ExplanationLogger(
            log_dir, None, images, labels=labels, class_names=class_names, methods=methods,
            target=target, preprocess=preprocess, output=output, batch_size=batch_size,
            top_k=top_k, max_images=max_images, value_range=value_range,
            display_range=display_range, metrics=metrics, masks=masks,
            faithfulness_steps=faithfulness_steps, faithfulness_every=faithfulness_every,
            memory_limit=memory_limit, progress=self._progress)
        self._fit_start = 0.0
        self._first_epoch = True
        self._last_step: int | None = None    # the newest step logged (or tried)
        self._last_epoch: int | None = None   # the newest epoch that finished
        self._round_start = 0.0
        self._progress_shown = False
        self._progress_methods: set[str] = set()
        self._pending_message: str | None = None
        self._logged = 0
        self.reports: list[RoundReport] = []   # every round this fit, logged or lost

    # tf_keras (legacy Keras 2) calls these while setting up its fit; Keras 3 never does.
    def _implements_train_batch_hooks(self) -> bool:
        raise ValueError(LEGACY_KERAS_MESSAGE)

    _implements_test_batch_hooks = _implements_predict_batch_hooks = \
        _implements_train_batch_hooks

    # -- Keras hooks ---------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        if not isinstance(self.model, keras.Model):
            raise ValueError(LEGACY_KERAS_MESSAGE)
        self.logger.bind(self.model)
        self._fit_start = time.perf_counter()
        self._first_epoch = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._print_pending()
        if self._first_epoch:
            self._first_epoch = False
            if epoch > 0:       # a resumed fit (initial_epoch): its run goes on
                self._last_step = self.logger.continue_run()
            elif self.log_before_training:
                self._log(BEFORE_TRAINING_STEP, forced=True)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._last_epoch = epoch
        if self.every_n_batches is None and (epoch + 1) % self.every_n_epochs == 0:
            last = epoch + 1 == self.params.get("epochs")
            self._log(epoch, epoch=epoch, forced=last, final=last)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.every_n_batches is not None:
            iteration = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            if iteration % self.every_n_batches == 0:
                self._log(iteration, batch=iteration)

    def on_train_end(self, logs: dict | None = None) -> None:
        # the end of training is always logged (early stopping, a schedule that skipped it)
        if self.every_n_batches is None and self._last_epoch is not None \
                and self._last_step != self._last_epoch:
            self._log(self._last_epoch, epoch=self._last_epoch, forced=True, final=True)
        elif self.every_n_batches is not None and self._last_step is not None:
            iteration = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            if iteration != self._last_step:
                self._log(iteration, batch=iteration, forced=True, final=True)
        self._print_pending()
        self.logger.close()
        if self.verbose:
            elapsed = time.perf_counter() - self._fit_start
            line = self.budget.summary(elapsed, self._logged)
            if self.logger.lost:
                line += (f"; {self.logger.lost} rounds lost ("
                         f"{self.logger.lost_reasons[-1]})")
            print(line, flush=True)

    # -- rounds --------------------------------------------------------------------------
    def _log(self, step: int, epoch: int | None = None, batch: int | None = None,
             forced: bool = False, final: bool = False) -> None:
        if not forced and not self.budget.allows(time.perf_counter() - self._fit_start):
            return
        self._last_step = step
        self._round_start = time.perf_counter()
        report = self.logger.log(step, epoch=epoch, batch=batch, final=final, scalars={
            SKIPPED_ROUNDS_TAG: self.budget.skipped} if self.budget.share else None)
        self._clear_progress()
        self.reports.append(report)
        self.budget.record(report.seconds, report.setup_seconds)
        if report.written:
            self._logged += 1
        if self.verbose and report.written:
            self._announce(report)

    def _announce(self, report: RoundReport) -> None:
        label = "before training" if report.step == BEFORE_TRAINING_STEP \
            else f"step {report.step}"
        parts = ", ".join(f"{name} {seconds:.1f}s"
                          for name, seconds in report.method_seconds.items())
        quality = f", quality {report.quality_seconds:.1f}s" if report.quality_seconds else ""
        note = " — the model's output ignores its input" if report.constant_output else ""
        self._pending_message = (f"Picasso: logged {label} in {report.seconds:.1f}s ({parts}"
                                 f"{quality}){note} -> {self.logger.run_dir}")
        if report.step == BEFORE_TRAINING_STEP or self.every_n_batches is not None:
            self._print_pending()   # no Keras progress bar is mid-line

    def _print_pending(self) -> None:
        """Print the last round's line; at an epoch's end Keras' progress bar (the last
        callback) has not finished its line yet, so the line waits for the next epoch."""
        if self._pending_message:
            print(self._pending_message, flush=True)
            self._pending_message = None

    def _progress(self, method: str, done: int, total: int) -> None:
        """A long round's progress: on an interactive console, on the current line
        (cleared afterwards); otherwise one line per method."""
        if not self.verbose or time.perf_counter() - self._round_start < \
                PROGRESS_AFTER_SECONDS:
            return
        if sys.stdout.isatty() or "ipykernel" in sys.modules:
            sys.stdout.write(f"\r{'Picasso: ' + method + f' {done}/{total}':<79}")
            self._progress_shown = True
        elif method not in self._progress_methods:
            sys.stdout.write(f"Picasso: computing {method} ({total} copies) ...\n")
        self._progress_methods.add(method)
        sys.stdout.flush()

    def _clear_progress(self) -> None:
        self._progress_methods = set()
        if self._progress_shown:
            sys.stdout.write(f"\r{'':<79}\r")
            sys.stdout.flush()
            self._progress_shown = False
