"""Speed of the explanation methods as ratios to the brute-force limits.

* occlusion time / a plain batched tf.function forward pass over the same number of
  occluded images (already in memory: the cost of the model alone);
* saliency on a 16-image probe set / one forward+backward pass of that batch;
* Integrated Gradients with S steps / S forward+backward passes of the batch.

Run: python benchmarks/methods_speed.py
"""

import common  # noqa: F401  (sets TF's log level before TensorFlow loads)
import numpy as np
import tensorflow as tf
import keras

from common import ratio, report
from tensorboard_picasso.methods import IntegratedGradients, Occlusion, Saliency
from tensorboard_picasso.methods.model import ExplainableModel

PROBES = 16
BATCH = 256


def small_cnn(size):
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((size, size, 3)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])


def mobilenet(size):
    return keras.applications.MobileNetV2(input_shape=(size, size, 3), weights=None,
                                          classes=10)


def forward_limit(model, images, batch):
    """A plain batched forward pass over `images` (the brute-force limit), as a thunk."""
    forward = tf.function(lambda x: model(x, training=False))
    chunks = [tf.constant(images[s:s + batch]) for s in range(0, len(images), batch)]
    return lambda: [forward(c).numpy() for c in chunks]


def forward_backward_limit(model, images, passes=1):
    """`passes` forward+backward passes of `images` w.r.t. the input, as a thunk."""
    x = tf.constant(images)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(model(x, training=False)[:, 0])
        return tape.gradient(score, x)
    return lambda: [step(x).numpy() for _ in range(passes)]


def bench(label, model, size, occlusion):
    images = np.random.default_rng(0).random((PROBES, size, size, 3)).astype("float32")
    explainable = ExplainableModel(model)
    images = explainable.prepare(images)
    targets = explainable.predict_probabilities(images).argmax(1)[:, None]

    _, (rows, cols) = occlusion.geometry(size, size)
    copies = PROBES * len(rows) * len(cols)
    occluded = np.repeat(images, len(rows) * len(cols), axis=0)  # same count, same shape
    report(f"{label}: occlusion ({copies} copies) / forward limit",
           ratio(lambda: occlusion.compute(explainable, images, targets),
                 forward_limit(model, occluded, occlusion.batch_size), repeats=5), 1.05)

    report(f"{label}: saliency (16 images) / one forward+backward",
           ratio(lambda: Saliency().compute(explainable, images, targets),
                 forward_backward_limit(model, images), repeats=30), 1.10)

    steps = 16
    ig = IntegratedGradients(steps=steps, batch_size=PROBES * 4)
    report(f"{label}: IG ({steps} steps) / {steps} forward+backward",
           ratio(lambda: ig.compute(explainable, images, targets),
                 forward_backward_limit(model, images, steps)), 1.2)


def main():
    tf.config.threading.set_inter_op_parallelism_threads(2)
    bench("small CNN 64x64", small_cnn(64), 64, Occlusion(window=8, stride=4,
                                                             batch_size=BATCH))
    bench("MobileNetV2 96x96", mobilenet(96), 96, Occlusion(window=16, stride=8,
                                                              batch_size=BATCH))


if __name__ == "__main__":
    main()
