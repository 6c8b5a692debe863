"""Grad-CAM (Selvaraju et al. 2017) on a named layer, nested models included.

With A^k the k-th channel of the layer's activation (h x w) and f_c the target score:

    alpha_k = mean_ij  d f_c / d A^k_ij
    cam     = ReLU( sum_k alpha_k A^k ),  resized bilinearly to the input's H x W.

The layer is addressed by name, or "outer/inner" for a layer inside a nested model (a
keras.applications backbone used as a layer). Its activation is captured by wrapping the
layer's `call` while the model runs, so no sub-model is cut out of the graph and nested
backbones never hit Keras' "graph disconnected" error. By default the layer is the last
one, in execution order, whose output is 4-D (batch, h, w, channels).
"""

import contextlib

import numpy as np
import tensorflow as tf
import keras

from tensorboard_picasso.methods.base import (ExplanationMethod, check_positive_int,
                                              repeat_for_targets)
from tensorboard_picasso.methods.model import compiled


def _sublayers(layer, prefix=""):
    """(path, layer) for every layer nested in `layer`, depth first."""
    for child in getattr(layer, "layers", None) or []:
        path = f"{prefix}{child.name}"
        yield path, child
        yield from _sublayers(child, path + "/")


@contextlib.contextmanager
def _wrapped_calls(layers, on_output):
    """Temporarily wrap each layer's `call` so that on_output(path, output) sees it."""
    for path, layer in layers:
        original = layer.call

        def call(*args, _original=original, _path=path, **kwargs):
            output = _original(*args, **kwargs)
            on_output(_path, output)
            return output
        layer.call = call
    try:
        yield
    finally:
        for _, layer in layers:
            del layer.call


def spatial_layers(model, images):
    """Paths of the layers with a 4-D output, in execution order (one eager call)."""
    seen = []
    layers = [(p, l) for p, l in _sublayers(model.keras_model)
              if not isinstance(l, keras.layers.InputLayer)]

    def record(path, output):
        if not isinstance(output, (list, tuple, dict)) and len(output.shape) == 4 \
                and path not in seen:
            seen.append(path)
    with _wrapped_calls(layers, record):
        model.raw_outputs(tf.constant(images[:1]))
    nested = {p for p, l in layers if isinstance(l, keras.Model)}
    return [p for p in seen if p not in nested]


def find_layer(model, path):
    """The layer at `path` ("name" or "outer/inner"), or None."""
    return dict(_sublayers(model.keras_model)).get(path)


def _grad_cam(model, path):
    """Grad-CAM maps for (images, classes). Traced inside a tf.function: the layer's call
    is wrapped while tracing, so the graph holds its activation A."""
    layer = find_layer(model, path)
    captured = {}

    def store(_, output):
        captured["activation"] = output

    def cam(images, classes):
        with _wrapped_calls([(path, layer)], store), tf.GradientTape() as tape:
            scores = tf.gather(model.scores(images), classes, batch_dims=1)
        activation = captured["activation"]
        weights = tf.reduce_mean(tape.gradient(scores, activation), axis=(1, 2),
                                 keepdims=True)
        heat = tf.nn.relu(tf.reduce_sum(weights * activation, axis=-1))
        return tf.image.resize(heat[..., None], tf.shape(images)[1:3])[..., 0]
    return cam


class GradCAM(ExplanationMethod):
    """Grad-CAM maps.

    Args:
      layer: layer name or "backbone/layer" path; None = the last layer with a 4-D output.
      batch_size: images (times targets) per forward+backward pass.
    """

    name = "gradcam"
    signed = False

    def __init__(self, layer=None, batch_size=64):
        if layer is not None and not isinstance(layer, str):
            raise ValueError(f"layer must be a layer name (str) or None, got {layer!r}")
        self.layer = layer
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self._resolved = {}

    def params(self):
        return {"layer": self.layer}

    def resolve_layer(self, model, images):
        """The path of the layer to use for `model`, checked; cached per model."""
        if model not in self._resolved:
            candidates = spatial_layers(model, images)
            if self.layer is None:
                if not candidates:
                    raise ValueError("Grad-CAM found no layer with a 4-D (batch, h, w, "
                                     "channels) output in this model; use another method")
                self._resolved[model] = candidates[-1]
            elif self.layer not in candidates:
                known = "exists but its output is not 4-D" if find_layer(
                    model, self.layer) is not None else "was not found"
                raise ValueError(
                    f"Grad-CAM layer {self.layer!r} {known}; layers with a 4-D output: "
                    f"{candidates[-12:]} (name nested layers as 'outer/inner')")
            else:
                self._resolved[model] = self.layer
        return self._resolved[model]

    def compute(self, model, images, targets):
        path = self.resolve_layer(model, images)
        run = compiled(model, ("gradcam", path), lambda m: _grad_cam(m, path))
        x, classes = repeat_for_targets(images, targets)
        maps = np.concatenate([
            run(tf.constant(x[s:s + self.batch_size]),
                tf.constant(classes[s:s + self.batch_size])).numpy()
            for s in range(0, len(x), self.batch_size)])
        return maps.reshape(targets.shape + images.shape[1:3])
