"""One Keras backend's maps and quality metrics on shared weights, for test_backends.py.

    KERAS_BACKEND=jax python tests/backend_worker.py DIR

Keras fixes its backend once per process, so test_backends.py runs this script once per
backend. It builds the models of `build_models()`, loads the weights that the test saved
in DIR (`<model>.<stage>.weights.h5`, stage "initial" or "trained"), and writes
DIR/<backend>.npz holding, under "<model>/<method>/<target>/maps" and ".../targets",
every built-in method's `explain()` result for the trained weights, and under
"<model>/<method>/<metric>" the quality metrics of a second round (trained weights) after
a first (initial weights), as the logger computes them. Keys "<model>/probabilities"
hold the trained model's class probabilities of the probe images.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

SIDE = 16
CLASSES = 3
TARGETS = ("top2", "label")
STAGES = ("initial", "trained")


def probe_set():
    """(images (6, 16, 16, 3), labels (6,)): bar images not used for training."""
    from conftest import bar_images
    return bar_images(6, side=SIDE, seed=7)


def build_models():
    """{name: keras.Model}: a softmax CNN, a logits CNN with BatchNorm, and a CNN whose
    convolutions sit in a nested backbone model (Grad-CAM's layer is found inside it)."""
    import keras
    from models import small_cnn

    keras.utils.set_random_seed(0)
    logits = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_last"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(CLASSES, name="logits"),
    ])
    backbone = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="tanh"),
        keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="tanh"),
    ], name="backbone")
    inputs = keras.Input((SIDE, SIDE, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    nested = keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(pooled))
    return {"softmax_cnn": small_cnn((SIDE, SIDE, 3), CLASSES), "logits_bn_cnn": logits,
            "nested_backbone": nested}


def methods():
    """Every built-in method, configured small."""
    from tensorboard_picasso.methods import (GradCAM, IntegratedGradients, Occlusion,
                                             Saliency, SmoothGrad)
    return [Occlusion(window=4, stride=2), Saliency(), SmoothGrad(samples=8, noise=0.1),
            IntegratedGradients(steps=16), GradCAM()]


def run(directory):
    import keras

    from tensorboard_picasso.methods import as_explainable, resolve_targets
    from tensorboard_picasso.methods.context import ProbeSet, RoundContext
    from tensorboard_picasso.quality.tracker import QualityTracker

    images, labels = probe_set()
    out = {}
    for name, model in build_models().items():
        weights = {stage: os.path.join(directory, f"{name}.{stage}.weights.h5")
                   for stage in STAGES}
        explainable = as_explainable(model)
        probes = ProbeSet.create(explainable, images)
        tracker = QualityTracker({"drift", "faithfulness"}, faithfulness_steps=8,
                                 faithfulness_every=1)
        for stage in STAGES:       # two logging rounds, as the logger runs them
            model.load_weights(weights[stage])
            context = RoundContext(explainable, probes)
            targets = resolve_targets("predicted", context.probabilities, None)
            for method in methods():
                maps = method.run(explainable, context, targets)
                scores = tracker.score(context, method.name, maps, targets.first())
                tracker.commit(method.name, maps)
                for metric, values in scores.items():
                    out[f"{name}/{method.name}/{metric}"] = np.asarray(values, np.float64)
            tracker.end_round()
        out[f"{name}/probabilities"] = context.probabilities
        for method in methods():
            for target in TARGETS:
                explanation = method.explain(model, images, target=target, labels=labels)
                out[f"{name}/{method.name}/{target}/maps"] = explanation.maps
                out[f"{name}/{method.name}/{target}/targets"] = explanation.targets
    np.savez(os.path.join(directory, f"{keras.backend.backend()}.npz"), **out)


if __name__ == "__main__":
    run(sys.argv[1])
