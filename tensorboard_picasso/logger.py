"""One logging round: probe set -> methods -> summary ops, with validation up front.

`ExplanationLogger` is what `PicassoCallback` drives on its schedule, and what a custom
training loop uses directly:

    logger = ExplanationLogger(log_dir, model, images, labels=labels)   # validates
    for step in range(steps):
        train_step(...)
        if step % 100 == 0:
            logger.log(step)
    logger.close()

It writes into `<log_dir>/picasso`, a run of its own beside Keras' train/validation runs.
"""

import os
import time
import warnings

import numpy as np
import tensorflow as tf

from tensorboard_picasso import methods as methods_lib
from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.targets import check_labels
from tensorboard_picasso.quality.tracker import QualityTracker, check_metrics
from tensorboard_picasso.summary import records as fmt
from tensorboard_picasso.summary import ops

RUN_NAME = "picasso"
DEFAULT_METHODS = ("occlusion", "saliency")
COST_TAG = "picasso/seconds_per_round"
QUALITY_COST_TAG = "picasso/quality_seconds_per_round"


def probe_set_from(images, labels, max_images):
    """(images, labels) from an array or from a tf.data.Dataset of (x[, y]) batches."""
    if isinstance(images, tf.data.Dataset):
        xs, ys = [], []
        for element in images:
            x, y = (element[0], element[1]) if isinstance(element, (tuple, list)) \
                else (element, None)
            xs.append(np.asarray(x))
            if y is not None:
                ys.append(np.asarray(y))
            if sum(len(b) for b in xs) >= max_images:
                break
        if not xs:
            raise ValueError("images is an empty tf.data.Dataset; pass a dataset that "
                             "yields image batches (x) or (x, y)")
        images = np.concatenate(xs)[:max_images]
        if labels is None and ys:
            labels = np.concatenate(ys)[:max_images]
    return images, labels


def check_class_names(class_names):
    if class_names is None:
        return None
    if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise ValueError("class_names must be a list of strings, one per class")
    return list(class_names)


class ExplanationLogger:
    """Explains a fixed probe set with several methods and logs each round.

    Args:
      log_dir: the TensorBoard log directory; writes go to `<log_dir>/picasso`.
      model: the Keras classifier (None to bind later with `bind(model)`).
      images: probe images (N, H, W, C), or a tf.data.Dataset of (x[, y]) batches.
      labels: true class indices (N,) or one-hot rows, optional.
      class_names: one name per class, optional.
      methods: method names or configured method objects; default occlusion + saliency.
      target: "predicted", "label", a class index or "topK" (one map per class).
      preprocess: differentiable function images -> model inputs (Picasso's model hook).
      output: which output holds the class scores, for multi-output models.
      batch_size: images per forward pass for every method (their memory bound);
        None keeps each method's own setting.
      top_k: how many top classes to log per image.
      max_images: cap on probe images taken from a Dataset.
      display_range: (low, high) of image values for the probe PNGs; default min..max.
      metrics: quality metrics per round (see quality.py): "drift", "faithfulness",
        "shortcut"; default drift and faithfulness, () for none.
      masks: (N, H, W) masks of the object in each probe image; turns on "shortcut".
      faithfulness_steps: points of the deletion/insertion curves.
    """

    def __init__(self, log_dir, model, images, labels=None, class_names=None, methods=None,
                 target="predicted", preprocess=None, output=None, batch_size=None,
                 top_k=5, max_images=16, display_range=None, metrics=None, masks=None,
                 faithfulness_steps=16):
        if not isinstance(log_dir, (str, os.PathLike)) or not str(log_dir):
            raise ValueError(f"log_dir must be a directory path, got {log_dir!r}")
        self.run_dir = os.path.join(os.fspath(log_dir), RUN_NAME)
        self.images, self.labels = probe_set_from(
            images, labels, check_positive_int(max_images, "max_images"))
        self.class_names = check_class_names(class_names)
        self.methods = [methods_lib.get_method(m) for m in (methods or DEFAULT_METHODS)]
        names = [m.name for m in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"methods has duplicates {names}; configure each method once")
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
            for method in self.methods:
                if hasattr(method, "batch_size"):
                    method.batch_size = batch_size
        self.target = methods_lib.validate_target(target, has_labels=labels is not None
                                                  or self.labels is not None)
        self.preprocess = preprocess
        self.output = output
        self.batch_size = batch_size or 256
        self.top_k = check_positive_int(top_k, "top_k")
        self.display_range = display_range
        self.quality = QualityTracker(check_metrics(metrics, masks), masks,
                                      faithfulness_steps, self.batch_size)
        self.model = None
        self._writer = None
        self._probes_written = False
        self._warned = False
        self._rounds = 0
        if model is not None:
            self.bind(model)

    def bind(self, model):
        """Check the probe set, labels, class names and methods against `model`."""
        self.model = methods_lib.as_explainable(model, self.preprocess, self.output)
        self.images = self.model.prepare(self.images)
        classes = self.model.num_classes
        if self.labels is not None:
            self.labels = check_labels(self.labels, len(self.images), classes)
        if self.class_names is not None and len(self.class_names) != classes:
            raise ValueError(f"class_names has {len(self.class_names)} names but the model "
                             f"outputs {classes} classes; pass one name per class")
        methods_lib.validate_target(self.target, classes, self.labels is not None)
        for method in self.methods:
            method.validate(self.images.shape)
        self.quality.check_masks(self.images)

    # -- computing -------------------------------------------------------------------
    def explain(self):
        """This round's probabilities (N, classes), targets and {method: (maps, secs)}."""
        probabilities = self.model.predict_probabilities(self.images, self.batch_size)
        targets = methods_lib.resolve_targets(self.target, probabilities, self.labels)
        results = {}
        for method in self.methods:
            start = time.perf_counter()
            maps = methods_lib.run_method(method, self.model, self.images, targets)
            results[method.name] = (maps, time.perf_counter() - start)
        return probabilities, targets, results

    def score(self, targets, results):
        """{method: {metric: (N,)}} quality of this round's maps, and the seconds spent."""
        start = time.perf_counter()
        scores = {name: self.quality.score(self.model, self.images, name, maps, targets)
                  for name, (maps, _) in results.items()}
        return scores, time.perf_counter() - start

    # -- writing -----------------------------------------------------------------------
    def _write_round(self, step, probabilities, targets, results, scores, epoch, batch):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.run_dir)
        with self._writer.as_default():
            if not self._probes_written:
                ops.probe_images(self.images, self.labels, self.class_names, step=step,
                                 value_range=self.display_range)
            top = methods_lib.top_k(probabilities, self.top_k)
            ops.probabilities(top.classes, top.probabilities, step=step, epoch=epoch,
                              batch=batch)
            for method in self.methods:
                maps, seconds = results[method.name]
                ops.write_record(fmt.map_record(
                    method.name, maps, targets, method.signed, method.params(),
                    round(seconds, 4), epoch, batch, scores[method.name]), step)
                for metric, values in scores[method.name].items():
                    if np.isfinite(values).any():
                        tf.summary.scalar(f"picasso/{method.name}/{metric}",
                                          float(np.nanmean(values)), step=step)
        self._writer.flush()
        self._probes_written = True

    def _write_cost(self, step, seconds, quality_seconds):
        with self._writer.as_default():
            tf.summary.scalar(COST_TAG, seconds, step=step)
            if self.quality.metrics:
                tf.summary.scalar(QUALITY_COST_TAG, quality_seconds, step=step)
        self._writer.flush()

    def log(self, step, epoch=None, batch=None):
        """Explain the probe set now and write it at `step`; returns the seconds spent.

        The first round raises on bad input (a clear ValueError). Later, a model gone
        bad (NaN) skips the round with a warning, and a failure to write warns once;
        training goes on either way.
        """
        if self.model is None:
            raise RuntimeError("bind(model) before log(step)")
        start = time.perf_counter()
        try:
            probabilities, targets, results = self.explain()
            scores, quality_seconds = self.score(targets, results)
        except ValueError as err:
            if self._rounds == 0:
                raise
            warnings.warn(f"Picasso: step {step} not logged: {err}", RuntimeWarning,
                          stacklevel=2)
            return time.perf_counter() - start
        self._rounds += 1
        try:
            self._write_round(step, probabilities, targets, results, scores, epoch, batch)
            seconds = time.perf_counter() - start
            self._write_cost(step, seconds, quality_seconds)
        except (tf.errors.OpError, OSError) as err:
            self._warn(f"could not write to {self.run_dir} ({err}); training goes on "
                       "without Picasso logs")
            self._writer = None
            return time.perf_counter() - start
        return seconds

    def _warn(self, message):
        if not self._warned:
            warnings.warn(f"Picasso: {message}", RuntimeWarning, stacklevel=3)
            self._warned = True

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def log_explanations(log_dir, model, images, step, **kwargs):
    """Explain `images` under `model` and log one round at `step` (one-off use).

    For repeated logging keep an ExplanationLogger, which writes the probe images once.
    """
    logger = ExplanationLogger(log_dir, model, images, **kwargs)
    try:
        return logger.log(step)
    finally:
        logger.close()

