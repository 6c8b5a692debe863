"""One logging round: probe set -> methods -> quality -> one event, with validation up front.

`ExplanationLogger` is what `PicassoCallback` drives on its schedule, and what a custom
training loop uses directly:

    logger = ExplanationLogger(log_dir, model, images, labels=labels)   # validates
    for step in range(steps):
        train_step(...)
        if step % 100 == 0:
            logger.log(step)
    logger.close()

It writes into `<log_dir>/picasso`, a run of its own beside Keras' train/validation runs,
with TensorBoard's TF-free event writer (writers.py): no TensorFlow is needed, so it works
for Keras on JAX or PyTorch and for plain PyTorch models (tensorboard_picasso.pytorch).

A round: one clean forward pass (probabilities, shared by target resolution, occlusion and
the metrics), each method's maps, their quality (quality/), then ONE event holding the
predictions, every method's maps and the scalars, so TensorBoard sees a round whole or not
at all. A round that fails (a method raising, out of memory, a full disk) is lost, not
half-written: the logger warns with the count and training goes on.
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tensorboard_picasso import methods as methods_lib
from tensorboard_picasso.history import RunHistory
from tensorboard_picasso.methods.base import check_positive_int
from tensorboard_picasso.methods.context import ProbeSet, RoundContext
from tensorboard_picasso.methods.memory import DEFAULT_MEMORY_BOUND, parse_memory_bound
from tensorboard_picasso.methods.targets import TargetSpec, check_labels
from tensorboard_picasso.methods.value_range import check_value_range
from tensorboard_picasso.quality import verdicts
from tensorboard_picasso.quality.tracker import QualityTracker, check_metrics
from tensorboard_picasso.summary import codec, layout, pb, records
from tensorboard_picasso.writers import EventFileWriter, RoundWriter

DEFAULT_METHODS = ("occlusion", "saliency")
# a round's probabilities vary across probe images by less than this: the model's output
# does not depend on its input (e.g. BatchNorm statistics early in training)
CONSTANT_OUTPUT_SPREAD = 1e-5

ARGUMENTS_DOC = """
      labels: true class of each probe image: (N,) class indices, or (N, classes)
        one-hot rows; optional (taken from `y` when `images` is a dataset).
      class_names: one name per class (strings), shown in the tab; optional.
      methods: method names ("occlusion", "saliency", "smoothgrad",
        "integrated_gradients", "gradcam", or registered ones) or configured method
        objects such as `Occlusion(window=8, fill="blur")`. Default: occlusion, saliency.
      target: which classes to map per image: "predicted", "label", a class index,
        "topK" (e.g. "top3"), or a list of these (their union, each class once).
        Default: ("predicted", "label") with labels (the true class's map is logged too
        where the model is wrong), else "predicted".
      preprocess: differentiable function images -> model inputs (Picasso's model hook);
        maps are computed w.r.t. the raw images.
      output: index or name of the class-score output of a multi-output model.
      batch_size: copies per forward pass for every method (overrides the memory bound).
      top_k: how many top classes (and probabilities) to log per image (>= 1).
      max_images: how many probe images to take from a dataset (default 16).
      value_range: (low, high) pixel values the model expects, for occlusion fills,
        SmoothGrad noise and the IG baseline; default inferred from the model's first
        layer (Rescaling, Normalization, integer input) and the probes.
      display_range: (low, high) of pixel values shown black..white in the probe PNGs;
        default the value range.
      metrics: quality metrics per round: "drift", "faithfulness", "shortcut" (needs
        masks); default drift and faithfulness, () for none.
      masks: (N, H, W) masks of the object in each probe image, booleans or numbers in
        [0, 1]; turn on the "shortcut" metric.
      faithfulness_steps: K, the steps of the deletion/insertion curves (default 6).
      faithfulness_every: score faithfulness (the costly metric: 2 (K - 1) passes per
        image and method) at every k-th round and at the final one (default 4; 1 = every
        round).
      memory_limit: bytes (or a string such as "1GB") that a method's batch may use above
        the model; batches are sized from it, and halved on an out-of-memory error.
"""


def probe_set_from(images: Any, labels: Any, max_images: int) -> tuple[Any, Any]:
    """(images, labels) from an array, or from a tf.data.Dataset of batched or unbatched
    x or (x, y) elements (the first `max_images` images)."""
    if type(images).__module__.startswith("tensorflow") and hasattr(images, "element_spec"):
        xs, ys = [], []
        for element in images:
            x, y = (element[0], element[1]) if isinstance(element, (tuple, list)) \
                else (element, None)
            x = np.asarray(x)
            if x.ndim == 3:              # an unbatched dataset: one image per element
                x = x[None]
                y = None if y is None else np.asarray(y)[None]
            xs.append(x)
            if y is not None:
                ys.append(np.asarray(y))
            if sum(len(b) for b in xs) >= max_images:
                break
        if not xs:
            raise ValueError("images is an empty tf.data.Dataset; pass a dataset that "
                             "yields images x or (x, y), batched or not")
        images = np.concatenate(xs)[:max_images]
        if labels is None and ys:
            labels = np.concatenate(ys)[:max_images]
    return images, labels


def check_class_names(class_names: object) -> list[str] | None:
    if class_names is None:
        return None
    if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise ValueError("class_names must be a list of strings, one per class")
    return list(class_names)


@dataclasses.dataclass
class RoundReport:
    """What one `log` call did: seconds spent, whether the round reached the log, the
    seconds per method and for the quality metrics."""

    step: int
    seconds: float
    written: bool
    method_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    quality_seconds: float = 0.0
    forward_seconds: float = 0.0    # the clean pass (probabilities, targets)
    write_seconds: float = 0.0      # encoding the records and writing the event
    setup_seconds: float = 0.0      # of `seconds`, one-time tracing and compiling
    constant_output: bool = False


class ExplanationLogger:
    __doc__ = f"""Explains a fixed probe set with several methods and logs each round.

    Args:
      log_dir: the TensorBoard log directory; writes go to `<log_dir>/picasso`.
      model: the classifier: a Keras 3 model (any Keras backend), or a torch.nn.Module
        taking (N, H, W, C) images through `preprocess` (see tensorboard_picasso.pytorch);
        None to bind later with `bind(model)`.
      images: probe images (N, H, W, C), or a tf.data.Dataset of x or (x, y) elements.
{ARGUMENTS_DOC}      writer: where rounds go (writers.py); default a TF-free event file in
        `<log_dir>/picasso`.
      progress: called as progress(method, done, total) while a method runs (batches).
    """

    def __init__(self, log_dir: str | os.PathLike, model: Any, images: Any,
                 labels: Any = None, class_names: Sequence[str] | None = None,
                 methods: Sequence[Any] | None = None, target: TargetSpec | None = None,
                 preprocess: Callable[[Any], Any] | None = None,
                 output: int | str | None = None, batch_size: int | None = None,
                 top_k: int = 5, max_images: int = 16,
                 value_range: tuple[float, float] | None = None,
                 display_range: tuple[float, float] | None = None,
                 metrics: Sequence[str] | None = None, masks: Any = None,
                 faithfulness_steps: int = 6, faithfulness_every: int = 4,
                 memory_limit: int | str = DEFAULT_MEMORY_BOUND,
                 writer: RoundWriter | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        if not isinstance(log_dir, (str, os.PathLike)) or not str(log_dir):
            raise ValueError(f"log_dir must be a directory path, got {log_dir!r}")
        self.writer = writer if writer is not None else EventFileWriter(
            os.path.join(os.fspath(log_dir), layout.RUN_NAME))
        self.run_dir = self.writer.run_dir
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
        has_labels = self.labels is not None
        self.target = target if target is not None else (
            ("predicted", "label") if has_labels else "predicted")
        methods_lib.validate_target(self.target, has_labels=has_labels)
        self.preprocess = preprocess
        self.output = output
        self.top_k = check_positive_int(top_k, "top_k")
        self.value_range = check_value_range(value_range, "value_range")
        self.display_range = check_value_range(display_range, "display_range")
        self.memory_bound = parse_memory_bound(memory_limit)
        self.quality = QualityTracker(check_metrics(metrics, masks), masks,
                                      faithfulness_steps, faithfulness_every)
        self.progress = progress
        self.model: Any = None
        self.probes: ProbeSet | None = None
        self._probes_written = False
        self.rounds = 0      # rounds attempted
        self.lost = 0        # rounds that did not reach the log
        self._failing = False    # the last round was lost
        self.lost_reasons: list[str] = []
        if model is not None:
            self.bind(model)

    def bind(self, model: Any) -> None:
        """Check the probe set, labels, class names, methods and masks against `model`
        (a ValueError naming the argument and the fix)."""
        self.model = methods_lib.as_explainable(model, self.preprocess, self.output)
        self.probes = ProbeSet.create(self.model, self.images, None, self.value_range)
        classes = self.model.num_classes
        if self.labels is not None:
            self.probes.labels = check_labels(self.labels, len(self.probes.images), classes)
        if self.class_names is not None and len(self.class_names) != classes:
            raise ValueError(f"class_names has {len(self.class_names)} names but the model "
                             f"outputs {classes} classes; pass one name per class")
        methods_lib.validate_target(self.target, classes, self.labels is not None)
        for method in self.methods:
            method.validate(self.model, self.probes)
        self.quality.check_masks(self.probes.images)

    def continue_run(self) -> int | None:
        """Continue the rounds this run logged before (a resumed fit): its probe images
        are not written again and drift stays measured against its first and latest maps.
        Returns the newest step it holds, or None when it holds none."""
        history = RunHistory.read(self.run_dir)
        if history is None:
            return None
        hashes = [codec.image_hash(image) for image in self.probes.images]
        self._probes_written = history.probe_hashes == hashes
        if not self._probes_written and history.probe_hashes:
            warnings.warn(f"Picasso: {self.run_dir} holds rounds of other probe images; "
                          "the new probe images are logged again and earlier steps keep "
                          "the old ones", RuntimeWarning, stacklevel=3)
            return history.last_step
        for method in self.methods:
            first_and_last = history.first_and_last_maps(method.name)
            if first_and_last is not None:
                self.quality.remember(method.name, *first_and_last)
        return history.last_step

    # -- one round -----------------------------------------------------------------------
    def log(self, step: int, epoch: int | None = None, batch: int | None = None,
            final: bool = False, scalars: dict[str, float] | None = None) -> RoundReport:
        """Explain the probe set now and write it at `step` as one event; `final` marks
        the last round of training (it always scores faithfulness); `scalars` ({tag:
        value}) are written with the round.

        Raises ValueError when the run's first round finds bad input (e.g. a model that
        outputs NaN before training); later, any failure — a method raising, out of
        memory, a full disk — skips the round with a warning that counts the lost rounds,
        and training goes on.
        """
        if self.model is None:
            raise RuntimeError("bind(model) before log(step)")
        start = time.perf_counter()
        setup_before = self.model.backend.setup_seconds
        self.rounds += 1
        try:
            summary, report = self._compute(step, epoch, batch, final, scalars or {})
        except Exception as error:  # noqa: BLE001 - a failed round must not stop training
            if self.rounds == 1 and isinstance(error, ValueError):
                raise
            return self._lost(step, start, f"{type(error).__name__}: {error}")
        written = time.perf_counter()
        try:
            self.writer.write(step, summary)
        except OSError as error:
            return self._lost(step, start, f"could not write to {self.run_dir}: {error}")
        if self.writer.reopened and self.rounds > 1:
            warnings.warn(f"Picasso: {self.run_dir} was removed or replaced during "
                          f"training; step {step} and later go to a new event file",
                          RuntimeWarning, stacklevel=2)
        if self._failing:
            warnings.warn(f"Picasso: writing again at step {step} ({self.lost} of "
                          f"{self.rounds} rounds lost so far)", RuntimeWarning, stacklevel=2)
            self._failing = False
        self._commit(report)
        report.seconds = time.perf_counter() - start
        report.write_seconds += time.perf_counter() - written
        report.setup_seconds = self.model.backend.setup_seconds - setup_before
        return report

    def _lost(self, step: int, start: float, reason: str) -> RoundReport:
        self._failing = True
        self.lost += 1
        self.lost_reasons.append(f"step {step}: {reason}")
        warnings.warn(f"Picasso: step {step} not logged ({reason}); {self.lost} of "
                      f"{self.rounds} rounds lost so far; training goes on",
                      RuntimeWarning, stacklevel=3)
        return RoundReport(step, time.perf_counter() - start, written=False)

    def _compute(self, step: int, epoch: int | None, batch: int | None, final: bool,
                 extra: dict[str, float]) -> tuple[Any, RoundReport]:
        start = time.perf_counter()
        context = RoundContext(self.model, self.probes, self.memory_bound, self.progress)
        probabilities = context.probabilities
        forwarded = time.perf_counter()
        constant = len(probabilities) > 1 and float(
            np.ptp(probabilities, axis=0).max()) < CONSTANT_OUTPUT_SPREAD
        targets = methods_lib.resolve_targets(self.target, probabilities, self.probes.labels)
        first = np.concatenate([[0], np.cumsum(targets.counts)[:-1]])
        report = RoundReport(step, 0.0, True, constant_output=constant,
                             forward_seconds=forwarded - start)
        maps_by_method: dict[str, np.ndarray] = {}
        for method in self.methods:
            method_start = time.perf_counter()
            maps_by_method[method.name] = method.run(self.model, context, targets)
            report.method_seconds[method.name] = time.perf_counter() - method_start
        quality_start = time.perf_counter()
        scores = {name: self.quality.score(context, name, maps[first], targets.first(),
                                           final)
                  for name, maps in maps_by_method.items()}
        report.quality_seconds = time.perf_counter() - quality_start
        encoding = time.perf_counter()
        top = methods_lib.top_k(probabilities, self.top_k)
        round_records = [records.predictions_record(top.classes, top.probabilities, epoch,
                                                    batch, constant)]
        if not self._probes_written or self.writer.lost_file:
            round_records.insert(0, records.probes_record(
                self.probes.images, self.probes.labels, self.class_names,
                self.display_range or self.probes.value_range))
        scalars = dict(extra)
        for method in self.methods:
            maps = maps_by_method[method.name]
            round_records.append(records.map_record(
                method.name, targets.split(maps), [list(r) for r in targets.rows],
                method.signed, method.params(), round(report.method_seconds[method.name], 4),
                epoch, batch, scores[method.name], constant))
            for metric, values in scores[method.name].items():
                mean = verdicts.mean(v for v in np.asarray(values, float).tolist()
                                     if np.isfinite(v))
                if mean is not None:
                    scalars[layout.metric_tag(method.name, metric)] = mean
        scalars[layout.SECONDS_PER_ROUND_TAG] = time.perf_counter() - start
        if self.quality.metrics:
            scalars[layout.QUALITY_SECONDS_PER_ROUND_TAG] = report.quality_seconds
        self._pending = {name: maps[first] for name, maps in maps_by_method.items()}
        summary = pb.round_summary(round_records, scalars)
        report.write_seconds = time.perf_counter() - encoding
        return summary, report

    def _commit(self, report: RoundReport) -> None:
        """After a round reached the log: the quality references move on."""
        for name, maps in self._pending.items():
            self.quality.commit(name, maps)
        self.quality.end_round()
        self._probes_written = True

    def close(self) -> None:
        """Close the writer (further rounds reopen it)."""
        self.writer.close()


def log_explanations(log_dir: str | os.PathLike, model: Any, images: Any, step: int,
                     **kwargs: Any) -> RoundReport:
    """Explain `images` under `model` and log one round at `step` (one-off use); keyword
    arguments as for ExplanationLogger. For repeated logging keep an ExplanationLogger,
    which writes the probe images once."""
    logger = ExplanationLogger(log_dir, model, images, **kwargs)
    try:
        return logger.log(step)
    finally:
        logger.close()
