"""Right by default on real networks (keras.applications, weights=None, small sizes):
Grad-CAM on the final feature map, the pixel range from the model, memory-bounded
batches, blank maps explained, float32 maps under mixed precision."""

import glob
import json
import warnings

import numpy as np
import pytest
import keras
import tensorflow as tf
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

from tensorboard_picasso.logger import ExplanationLogger
from tensorboard_picasso.methods import GradCAM, IntegratedGradients, Occlusion, Saliency
from tensorboard_picasso.methods.backends import keras_backend
from tensorboard_picasso.methods.batching import Batcher
from tensorboard_picasso.methods.gradcam import resize_bilinear
from tensorboard_picasso.quality.measures import rank_correlation
from tensorboard_picasso.summary import layout

SIDE = 32
NETWORK_SIDE = 64   # these networks downsample 32x: a 2 x 2 final feature map
ARCHITECTURES = {
    "convnext": lambda **kw: keras.applications.ConvNeXtTiny(weights=None, **kw),
    "resnet": lambda **kw: keras.applications.ResNet50(weights=None, **kw),
}


def _images(n=2, scale=255.0, seed=0, side=SIDE):
    return (np.random.default_rng(seed).random((n, side, side, 3)) * scale).astype("float32")


def _direct(name):
    keras.utils.set_random_seed(0)
    return ARCHITECTURES[name](input_shape=(NETWORK_SIDE, NETWORK_SIDE, 3), classes=3,
                               classifier_activation="softmax")


def _nested(name):
    keras.utils.set_random_seed(0)
    backbone = ARCHITECTURES[name](input_shape=(NETWORK_SIDE, NETWORK_SIDE, 3),
                                   include_top=False)
    inputs = keras.Input((NETWORK_SIDE, NETWORK_SIDE, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="outer_pool")(backbone(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))


def _reference_gradcam(model, x, classes):
    """Grad-CAM computed by hand on the tensor entering the last global pooling layer:
    the model split there into a feature extractor and a head (logits)."""
    pool = [layer for layer in model.layers
            if isinstance(layer, keras.layers.GlobalAveragePooling2D)][-1]
    features = keras.Model(model.inputs, pool.input)
    head = model.layers[model.layers.index(pool):]
    with tf.GradientTape() as tape:
        activation = features(tf.constant(x), training=False)
        tape.watch(activation)
        h = activation
        for layer in head[:-1]:
            h = layer(h, training=False)
        logits = tf.matmul(h, head[-1].kernel) + head[-1].bias
        score = tf.gather(logits, classes, batch_dims=1)
    grads = tape.gradient(score, activation)
    cam = tf.nn.relu(tf.reduce_sum(tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
                                   * activation, axis=-1)).numpy()
    return resize_bilinear(cam, *x.shape[1:3])


@pytest.mark.parametrize("build", [_direct, _nested], ids=["direct", "nested"])
@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_gradcam_default_is_the_final_feature_map(name, build):
    model = build(name)
    x = _images(side=NETWORK_SIDE)
    explanation = GradCAM().explain(model, x)
    reference = _reference_gradcam(model, x, explanation.targets[:, 0])
    assert reference.max() > 0
    assert (rank_correlation(explanation.maps[:, 0], reference) >= 0.99).all()
    np.testing.assert_allclose(explanation.maps[:, 0], reference,
                               atol=1e-4 * reference.max())
    assert explanation.params["layer"].endswith(":input")


def _rescaling_cnn():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((SIDE, SIDE, 3))
    h = keras.layers.Rescaling(1 / 255)(inputs)
    h = keras.layers.Conv2D(8, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


def test_occlusion_takes_the_pixel_range_from_a_rescaling_layer():
    model, x = _rescaling_cnn(), _images()
    default = Occlusion(window=8, score="logit").explain(model, x)
    right = Occlusion(window=8, score="logit", value_range=(0, 255)).explain(model, x)
    wrong = Occlusion(window=8, score="logit", value_range=(0, 1)).explain(model, x)
    np.testing.assert_allclose(default.maps, right.maps, rtol=1e-5, atol=1e-7)
    assert not np.allclose(default.maps, wrong.maps, atol=1e-4)
    assert default.params["value_range"] == [0.0, 255.0]


def test_probes_outside_the_models_range_warn_and_name_both():
    with pytest.warns(RuntimeWarning, match=r"probe images lie in 0.*0\.\.255"):
        Occlusion(window=8).explain(_rescaling_cnn(), _images(scale=1.0))


def _events(run_dir):
    for path in sorted(glob.glob(f"{run_dir}/*tfevents*")):
        yield from EventFileLoader(path).Load()


def test_a_model_that_ignores_its_input_is_flagged(tmp_path):
    """BatchNorm whose statistics swamp the signal (as early in training from scratch):
    in inference mode every image gets the same probabilities and every occlusion map
    is 0 — the round says why instead of logging blank maps silently."""
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.BatchNormalization(),
        keras.layers.Dense(3, activation="softmax")])
    batchnorm = model.layers[2]
    batchnorm.moving_variance.assign(np.full(4, 1e16, "float32"))
    x = _images(4, scale=1.0)
    logger = ExplanationLogger(tmp_path, model, x, methods=["occlusion"], metrics=())
    assert logger.log(0).constant_output
    values = {v.tag: v for event in _events(logger.run_dir) for v in event.summary.value}
    body = json.loads(layout.predictions_body(
        tensor_util.make_ndarray(values[layout.PREDICTIONS_TAG].tensor)))
    header = json.loads(layout.map_header(
        tensor_util.make_ndarray(values[layout.map_tag("occlusion")].tensor)))
    assert body["constant_output"] and header["constant_output"]
    assert all(lo == hi == 0 for image in header["ranges"] for lo, hi in image)


def test_integrated_gradients_within_a_small_memory_bound_equals_unbounded(tmp_path):
    model, x = _rescaling_cnn(), _images(3)
    logger = ExplanationLogger(tmp_path, model, x, methods=[IntegratedGradients(steps=16)],
                               metrics=(), memory_limit="1MiB")
    bounded = logger.methods[0]
    logger.log(0)
    size = next(iter(bounded._batchers.values())).size
    assert size < 16     # several passes per image under 1 MiB
    unbounded = IntegratedGradients(steps=16, batch_size=256).explain(model, x)
    logged = IntegratedGradients(steps=16, batch_size=size).explain(model, x)
    np.testing.assert_allclose(logged.maps, unbounded.maps, rtol=1e-4,
                               atol=1e-6 * np.abs(unbounded.maps).max())


def test_out_of_memory_halves_the_batch_and_retries():
    backend = keras_backend()
    calls = []

    def run(index):
        calls.append(len(index))
        if len(index) > 3:
            raise MemoryError("out of memory allocating the batch")
        return index * 2.0
    batcher = Batcher(16, backend)
    with pytest.warns(RuntimeWarning, match="out of memory with 10 items"):
        out = batcher.run(run, 10, lambda index: (index,))
    np.testing.assert_array_equal(out, np.arange(10) * 2.0)
    assert batcher.size == 2 and calls[:3] == [10, 5, 2]


def test_mixed_precision_maps_are_computed_in_float32():
    x = _images(3, scale=1.0)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(3)
        mixed = keras.Sequential([
            keras.Input((SIDE, SIDE, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3), keras.layers.Activation("softmax", dtype="float32")])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    twin = keras.models.clone_model(mixed)   # built under float32: the float32 twin
    twin.set_weights(mixed.get_weights())
    assert mixed.layers[0].compute_dtype == "float16"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = Saliency().explain(mixed, x, target=1).maps[:, 0]
    expected = Saliency().explain(twin, x, target=1).maps[:, 0]
    assert (rank_correlation(got, expected) >= 0.99).all()
    assert mixed.layers[0].compute_dtype == "float16"   # the policy is restored
