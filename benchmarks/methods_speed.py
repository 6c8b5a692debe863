"""Speed of the explanation methods through `explain()`, as ratios to the brute-force
limits of the same backend, for Keras 3 on TensorFlow, JAX and PyTorch:

* occlusion / a plain batched compiled forward pass over the same number of occluded
  images (already in memory: the cost of the model alone);
* saliency and Grad-CAM on a 16-image probe set / one forward+backward pass of that batch
  (`explain(target="predicted")` finds the predicted class in the same pass);
* SmoothGrad (16 samples) and Integrated Gradients (16 steps) / 16 forward+backward passes;
* traces per method (each compiled function should be traced once).

Run: python benchmarks/methods_speed.py            (every backend, one process each)
     python benchmarks/methods_speed.py jax        (one backend)
"""

import os
import subprocess
import sys

BACKENDS = ("tensorflow", "jax", "torch")
PROBES = 16


def main():
    backends = sys.argv[1:] or BACKENDS
    for backend in backends:
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend!r}; choose from {BACKENDS}")
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run([sys.executable, __file__, "--run"], env=env, check=True)


def run():
    import numpy as np
    import keras

    from common import ratio, report
    from limits import backward_limit, forward_limit
    from tensorboard_picasso.methods import (GradCAM, IntegratedGradients, Occlusion,
                                             Saliency, SmoothGrad)
    from tensorboard_picasso.methods.adapters import as_explainable

    backend = keras.backend.backend()
    cases = [("small CNN 64x64", small_cnn(64), 64, 8),
             ("MobileNetV2 96x96", mobilenet(96), 96, 16)]
    for label, model, size, window in cases:
        label = f"{backend:<10} {label}"
        images = np.random.default_rng(0).random((PROBES, size, size, 3)).astype("float32")
        occlusion = Occlusion(window=window, stride=window // 2)
        _, (rows, cols) = occlusion.geometry(size, size)
        copies = PROBES * len(rows) * len(cols)
        occluded = np.repeat(images, len(rows) * len(cols), axis=0)
        explainable = as_explainable(model)
        occlusion.explain(model, images)   # sizes its batches from the memory bound
        batch = next(iter(occlusion._batchers.values())).size
        report(f"{label}: occlusion ({copies} copies) / forward",
               ratio(lambda: occlusion.explain(model, images),
                     forward_limit(model, occluded, batch), repeats=5), 1.05)
        one_pass = backward_limit(model, images)
        for method, repeats in ((Saliency(), 20), (GradCAM(), 20)):
            report(f"{label}: {method.name} via explain() / one forward+backward",
                   ratio(lambda: method.explain(model, images), one_pass, repeats), 1.10)
        passes = backward_limit(model, images, passes=16)
        for method in (SmoothGrad(samples=16), IntegratedGradients(steps=16)):
            report(f"{label}: {method.name} (16) via explain() / 16 forward+backward",
                   ratio(lambda: method.explain(model, images), passes), 1.10)
        traces = explainable.backend.traces
        if traces:
            print(f"{label}: traces per compiled function: max {max(traces.values())} "
                  f"over {len(traces)} functions", flush=True)


def small_cnn(size):
    import keras
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])


def mobilenet(size):
    import keras
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(input_shape=(size, size, 3), weights=None,
                                          classes=10, classifier_activation=None)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    run() if "--run" in sys.argv else main()
