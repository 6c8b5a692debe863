"""Callback overhead and bytes on disk per map.

* overhead = (encoding + writing + flushing a logging round) / the methods' compute for
  that round, on a small CNN at 64x64 with 16 probe images and three methods, and
  the quality metrics' cost (quality.py) / the same compute;
* bytes per logged map at 64x64 and 224x224 (our uint16+zlib block plus its share of the
  header), next to a PNG of the same map rendered as an 8-bit RGB overlay on the image,
  which is what image-summary based tools log. Smooth maps (occlusion, Grad-CAM) and
  noisy ones (saliency) compress differently, so both are shown.

Run: python benchmarks/callback_cost.py
"""

import io
import tempfile
import time

import common  # noqa: F401  (quiet TensorFlow)
import numpy as np
from PIL import Image

from common import report
from methods_speed import small_cnn
from tensorboard_picasso.logger import ExplanationLogger
from tensorboard_picasso.methods import GradCAM, Occlusion, Saliency
from tensorboard_picasso.methods.occlusion import gaussian_blur
from tensorboard_picasso.summary import records as fmt


def overhead(rounds=5):
    """Writing cost and quality-metric cost of a logging round, each / the maps' compute."""
    model = small_cnn(64)
    images = np.random.default_rng(0).random((16, 64, 64, 3)).astype("float32")
    with tempfile.TemporaryDirectory() as log_dir:
        logger = ExplanationLogger(log_dir, model, images, methods=[
            Occlusion(window=8, stride=4), Saliency(), GradCAM()])
        compute, quality, write = [], [], []
        for step in range(-1, rounds):                     # round -1 warms up (traces)
            start = time.perf_counter()
            probabilities, targets, results = logger.explain()
            computed = time.perf_counter()
            scores, _ = logger.score(targets, results)
            scored = time.perf_counter()
            logger._write_round(step, probabilities, targets, results, scores, step, None)
            logger._write_cost(step, 0.0, 0.0)
            if step >= 0:
                compute.append(computed - start)
                quality.append(scored - computed)
                write.append(time.perf_counter() - scored)
        logger.close()
    report("callback: (encode + write) / methods' compute, 16 images 64x64",
           float(np.median(write) / np.median(compute)), 0.05)
    report("quality metrics (drift + deletion/insertion, 16 steps) / methods' compute",
           float(np.median(quality) / np.median(compute)))


def overlay_png(image, values):
    """The map as an 8-bit RGB overlay (a simple blue-to-yellow ramp at 50%) as PNG."""
    t = (values - values.min()) / max(float(np.ptp(values)), 1e-12)
    heat = np.stack([t, t, 1 - t], axis=-1)
    rgb = np.clip((0.5 * image + 0.5 * heat) * 255, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return len(buffer.getvalue())


def smooth_images(count, size):
    """Blurred noise in [0, 1]: image-like, so a PNG of it compresses as photos do."""
    noise = np.random.default_rng(1).random((count, size, size, 3)).astype("float32")
    blurred = gaussian_blur(noise, sigma=size / 32)
    low, high = blurred.min(), blurred.max()
    return (blurred - low) / (high - low)


def map_bytes(model, size):
    images = smooth_images(8, size)
    for method in (Occlusion(window=size // 8, stride=size // 16, batch_size=128),
                   Saliency(), GradCAM()):
        explanation = method.explain(model, images)
        tag, meta, blobs = fmt.map_record(method.name, explanation.maps,
                                          explanation.targets, method.signed)
        ours = (sum(map(len, blobs)) + len(meta)) / len(images)
        png = np.mean([overlay_png(im, m[0]) for im, m in zip(images, explanation.maps)])
        print(f"{size}x{size} {method.name:<10} ours {ours / 1024:7.1f} KiB/map (16-bit, "
              f"values)  vs 8-bit RGB overlay PNG {png / 1024:7.1f} KiB  ratio "
              f"{ours / png:5.2f}", flush=True)


def main():
    overhead()
    map_bytes(small_cnn(64), 64)
    map_bytes(small_cnn(224), 224)


if __name__ == "__main__":
    main()
