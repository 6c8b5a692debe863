"""Picasso logs with known maps, written without training: the project's TF-free summary
builders (`tensorboard_picasso.summary.pb`) and TensorBoard's own EventFileWriter. Used by
the tab's browser tests (known values to read back from canvas pixels) and by
benchmarks/tab_scale.py (many checkpoints, fast).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.summary import pb

CLASS_NAMES = ["no tank", "tank", "<b>sky</b>"]
SIDE = 32
PEAK = 0.02          # a trained map's peak (map units)
UNTRAINED_PEAK = 1e-4
GROWTH = 0.06        # step 3 is step 2 with its region 6% stronger
METRICS = ("drift_previous", "drift_untrained", "deletion_auc", "insertion_auc")


@dataclasses.dataclass(frozen=True)
class KnownMaps:
    """What `write_known_maps` wrote: two runs of Grad-CAM (unsigned) maps of 4 probe
    images (32x32, labels `labels`) at steps -1..3.

    * step -1 ("untrained"): every map is noise below UNTRAINED_PEAK;
    * steps 0..3: the map of the true class is PEAK on its run's region (`regions`: rows,
      cols slices) and 0 elsewhere; step 3 is step 2 with the region (1 + GROWTH) times
      as strong; image 3's map at step 1 is zero everywhere;
    * every image is also mapped for class 0 ("no tank") at steps -1..2, but at step 3
      image 0's second map is class 2 instead (a class that exists only there);
    * predictions: top-2 per image, top-1 = the true class from step 0 on;
    * run B's step 0 has `constant_output` (the model ignored its input).
    """

    root: Path
    runs: tuple[str, str]
    labels: tuple[int, ...]
    regions: dict
    steps: tuple[int, ...] = (-1, 0, 1, 2, 3)


def _event(writer, step, summary, wall_time):
    writer.add_event(event_pb2.Event(step=step, wall_time=wall_time, summary=summary))


def _probes(count, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 0.6, size=(count, SIDE, SIDE, 3)).astype("float32")


def write_known_maps(root: Path) -> KnownMaps:
    """Writes the logs described in `KnownMaps` under `root`; returns what was written."""
    labels = (1, 0, 1, 0)
    regions = {"A": (slice(0, 8), slice(0, SIDE)),        # run A: the sky (top band)
               "B": (slice(20, 30), slice(16, 28))}       # run B: the tank
    runs = ("confounded/picasso", "clean/picasso")
    rng = np.random.default_rng(1)
    images = _probes(len(labels), 0)
    for (name, region), run in zip(regions.items(), runs):
        writer = EventFileWriter(str(root / run))
        wall = time.time()
        _event(writer, -1, pb.probes_pb(images, list(labels), CLASS_NAMES), wall)
        for step in (-1, 0, 1, 2, 3):
            maps, targets = [], []
            for i, label in enumerate(labels):
                if step == -1:
                    true_map = rng.uniform(0, UNTRAINED_PEAK / 2, (SIDE, SIDE))
                    true_map[-4:, -4:] = UNTRAINED_PEAK  # a "bright corner" of a weak map
                else:
                    true_map = np.zeros((SIDE, SIDE))
                    true_map[region] = PEAK * (1 + GROWTH if step == 3 else 1)
                    if i == 3 and step == 1:
                        true_map[:] = 0.0
                other = 0 if step < 3 or i != 0 else 2
                classes = [label] if label == other else [label, other]
                stack = [true_map] + ([np.full((SIDE, SIDE), PEAK / 4)] if len(classes) == 2 else [])
                maps.append(np.stack(stack).astype("float32"))
                targets.append(classes)
            metrics = {m: rng.uniform(0.1, 0.9, len(labels)) for m in METRICS} if step >= 0 else {}
            constant = name == "B" and step == 0
            _event(writer, step, pb.gradcam_pb(maps, targets, metrics=metrics,
                                               constant_output=constant), wall + step + 2)
            top = [[label, 1 - label] for label in labels]
            probs = [[0.9, 0.1] if step >= 0 else [0.5, 0.5] for _ in labels]
            _event(writer, step, pb.probabilities_pb(top, probs, constant_output=constant),
                   wall + step + 2)
        writer.close()
    return KnownMaps(root=root, runs=runs, labels=labels, regions=regions)


def write_scale_logs(root: Path, checkpoints: int, images: int, side: int,
                     methods=("occlusion", "saliency", "gradcam"), seed: int = 0) -> None:
    """One run ("picasso") of `checkpoints` steps (-1 .. checkpoints - 2) x `images`
    probe images of `side` x `side`, one map per image and method, predictions and
    quality metrics. The maps are a blob that grows over training, stored like real maps
    compress: occlusion coarse (8x8 windows), Grad-CAM smooth, saliency noisy."""
    rng = np.random.default_rng(seed)
    writer = EventFileWriter(str(root / "picasso"))
    probes = _probes(images, seed)
    labels = list(rng.integers(0, 3, images))
    wall = time.time()
    _event(writer, -1, pb.probes_pb(probes, labels, CLASS_NAMES), wall)
    yy, xx = np.mgrid[0:side, 0:side] / side
    centres = rng.uniform(0.2, 0.8, (images, 2))
    for k, step in enumerate(range(-1, checkpoints - 1)):
        t = k / max(1, checkpoints - 1)
        blobs = np.exp(-((yy[None] - centres[:, :1, None]) ** 2 + (xx[None] - centres[:, 1:, None]) ** 2)
                       / (0.02 + 0.05 * t)) * (0.001 + t)
        targets = [[label] for label in labels]
        summaries = []
        coarse = blobs[:, ::8, ::8].repeat(8, axis=1).repeat(8, axis=2)[:, :side, :side]
        shapes = {"occlusion": coarse - 0.1 * coarse.mean(),
                  "saliency": np.abs(blobs * rng.normal(1, 0.5, blobs.shape)), "gradcam": blobs}
        for method in methods:
            maps = shapes[method].astype("float32")[:, None]
            metrics = {m: rng.uniform(0.1, 0.9, images) for m in METRICS}
            signed = method == "occlusion"
            summaries.append(pb.explanation_pb(method, maps, targets, signed, metrics=metrics))
        top = [[label, (label + 1) % 3] for label in labels]
        probs = [[0.6 + 0.3 * t, 0.4 - 0.3 * t] for _ in labels]
        summaries.append(pb.probabilities_pb(top, probs))
        for summary in summaries:
            _event(writer, step, summary, wall + k + 1)
    writer.close()
