"""A Keras classifier seen by the explanation methods: images -> class scores, probabilities.

Score rule (documented for users):

* The model "outputs probabilities" when its last layer ends in a softmax or sigmoid
  activation (a `Dense(..., activation="softmax")`, an `Activation`/`Softmax` layer, also
  at the end of a nested model). For models whose last layer cannot be inspected
  (subclassed models), the outputs of the first batch decide: all values in [0, 1] and
  every row summing to 1 (±1e-3) means probabilities; a single unit in [0, 1] means a
  sigmoid probability.
* Otherwise the output is taken as logits.
* The *target score* that gradient methods differentiate is the logit: the output itself
  for a logits model; for a model whose last layer ends in softmax/sigmoid (found
  structurally), the output of that last layer run without its activation (the layer's
  activation is swapped for the identity while the score is traced). Only where no such
  layer can be found (a subclassed model applying softmax inside `call`) is the score
  the probability, whose gradient vanishes once the model is confident.
  Probabilities are the output itself, or softmax(logits).
* A single-unit output is a two-class problem: p(1) = o (or sigmoid(o) for a logit),
  p(0) = 1 - p(1); the scores are [1 - p, p] for probabilities and [-z, z] for a logit z
  (the logit of the complementary class).
"""

import contextlib

import numpy as np
import tensorflow as tf
import keras

_PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")


class ExplainableModel:
    """Wraps a single-input Keras classifier; `preprocess` runs inside the model.

    Args:
      model: a Keras model (Sequential, functional, subclassed, nested backbones).
      preprocess: optional differentiable function applied to images before the model
        (Picasso's model hook), so maps are computed w.r.t. the raw images.
      output: for multi-output models, the index or name of the class-score output.
    """

    def __init__(self, model, preprocess=None, output=None):
        if isinstance(model, ExplainableModel):
            raise TypeError("model is already an ExplainableModel; pass it on as is")
        if not isinstance(model, keras.Model):
            raise ValueError(
                f"model must be a keras.Model, got {type(model).__name__}; wrap your "
                "network in keras.Model or keras.Sequential")
        if preprocess is not None and not callable(preprocess):
            raise ValueError("preprocess must be a function images -> model inputs, or None")
        self.keras_model = model
        self.preprocess = preprocess
        self.output = output
        self._output_kind = None  # "probabilities" | "logits", fixed at first call
        self._single_unit = None
        self._check_inputs()
        self._output_index = self._resolve_output_index()

    # -- structure ---------------------------------------------------------------------
    def _check_inputs(self):
        inputs = getattr(self.keras_model, "inputs", None)
        if inputs and len(inputs) != 1:
            raise ValueError(
                f"model has {len(inputs)} inputs; Picasso explains models with one image "
                "input. Wrap the model so that it takes only the image.")

    @property
    def input_shape(self):
        """(H, W, C) of the model input where known, entries None where free."""
        inputs = getattr(self.keras_model, "inputs", None)
        if not inputs:
            return None
        return tuple(inputs[0].shape[1:])

    def _output_names(self):
        outputs = getattr(self.keras_model, "outputs", None) or []
        return [o._keras_history.operation.name for o in outputs]

    def _resolve_output_index(self):
        outputs = getattr(self.keras_model, "outputs", None)
        if not outputs:
            return None  # subclassed: decided at first call
        return self._pick_output(len(outputs), self._output_names())

    def _pick_output(self, count, names):
        if count == 1:
            return 0
        if self.output is None:
            raise ValueError(
                f"model has {count} outputs {names}; pass output=<index or name> to say "
                "which one holds the class scores")
        if isinstance(self.output, int) and 0 <= self.output < count:
            return self.output
        if self.output in names:
            return names.index(self.output)
        raise ValueError(f"output={self.output!r} is not one of the model's outputs "
                         f"(indices 0..{count - 1}, names {names})")

    def _last_layer(self):
        """The layer producing the chosen output (inside nested models), or None."""
        model = self.keras_model
        while True:
            outputs = getattr(model, "outputs", None)
            if not outputs:
                return None
            index = self._output_index if model is self.keras_model else 0
            layer = outputs[index or 0]._keras_history.operation
            if not isinstance(layer, keras.Model):
                return layer
            model = layer

    def _last_layer_activation(self):
        """Name of the final activation found structurally, or None when unknown."""
        layer = self._last_layer()
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        return getattr(getattr(layer, "activation", None), "__name__", None)

    @contextlib.contextmanager
    def _linear_head(self):
        """Run the last layer without its softmax/sigmoid, so outputs are logits."""
        layer = self._last_layer() if self.outputs_probabilities else None
        if layer is None or self._last_layer_activation() not in _PROBABILITY_ACTIVATIONS:
            yield False
            return
        if isinstance(layer, keras.layers.Softmax):
            layer.call = lambda inputs, *args, **kwargs: inputs
        else:
            original, layer.activation = layer.activation, keras.activations.linear
        try:
            yield True
        finally:
            if isinstance(layer, keras.layers.Softmax):
                del layer.call
            else:
                layer.activation = original

    # -- computation ---------------------------------------------------------------------
    def raw_outputs(self, images):
        """The chosen model output for `images` (a tensor), shape (N, units)."""
        x = self.preprocess(images) if self.preprocess is not None else images
        out = self.keras_model(x, training=False)
        if isinstance(out, dict):
            names = list(out)
            out = out[names[self._pick_output(len(names), names)]]
        elif isinstance(out, (list, tuple)):
            index = self._output_index
            out = out[index if index is not None else
                      self._pick_output(len(out), [str(i) for i in range(len(out))])]
        if len(out.shape) != 2:
            raise ValueError(
                f"model output has shape {tuple(out.shape)}; Picasso needs class scores of "
                "shape (batch, classes). Pick the classification output with output=...")
        return out

    def _detect(self, outputs):
        """Fix the output kind from the structure, else from the first outputs seen."""
        self._single_unit = outputs.shape[1] == 1
        activation = self._last_layer_activation()
        if activation is not None:
            probs = activation in _PROBABILITY_ACTIVATIONS
        else:
            inside = bool(np.all((outputs >= 0) & (outputs <= 1)))
            sums_to_one = bool(np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))
            probs = inside and (self._single_unit or sums_to_one)
        self._output_kind = "probabilities" if probs else "logits"

    @property
    def outputs_probabilities(self):
        return self._output_kind == "probabilities"

    @property
    def num_classes(self):
        """Number of classes (2 for a single-unit output); known after `prepare`."""
        return 2 if self._single_unit else self._units

    def prepare(self, images):
        """Validate images against the model; on first use fix the output kind.

        Returns the images as float32. Raises ValueError on bad images or NaN outputs.
        """
        images = check_images(images, self.input_shape)
        if self._output_kind is None:
            out = self.raw_outputs(tf.convert_to_tensor(images[:2])).numpy()
            check_finite(out, "model output")
            self._units = out.shape[1]
            self._detect(out)
        return images

    def scores(self, images):
        """Target scores per class (tensor (N, classes)); see the module's rule."""
        with self._linear_head() as logits:
            out = self.raw_outputs(images)
        logits = logits or not self.outputs_probabilities
        if self._single_unit:
            return tf.concat([-out, out] if logits else [1.0 - out, out], axis=1)
        return out

    def probabilities(self, images):
        """Class probabilities (tensor (N, classes))."""
        out = self.raw_outputs(images)
        if self._single_unit:
            p = out if self.outputs_probabilities else tf.sigmoid(out)
            return tf.concat([1.0 - p, p], axis=1)
        return out if self.outputs_probabilities else tf.nn.softmax(out, axis=1)

    def predict_probabilities(self, images, batch_size=256):
        """Probabilities as numpy (N, classes) for prepared images; raises on NaN/inf."""
        fn = compiled(self, "probabilities", lambda m: m.probabilities)
        parts = [fn(tf.convert_to_tensor(images[s:s + batch_size])).numpy()
                 for s in range(0, len(images), batch_size)]
        probs = np.concatenate(parts)
        check_finite(probs, "model output")
        return probs


def compiled(model, key, factory):
    """One tf.function per (ExplainableModel, key) for the function `factory(model)`."""
    cache = model.__dict__.setdefault("_functions", {})
    if key not in cache:
        cache[key] = tf.function(factory(model))
    return cache[key]


def as_explainable(model, preprocess=None, output=None):
    """`model` as an ExplainableModel: one per (Keras model, preprocess, output), kept on
    the Keras model, so repeated `explain` calls reuse its traced functions."""
    if isinstance(model, ExplainableModel):
        if preprocess is not None or output is not None:
            raise ValueError("pass preprocess/output when creating the ExplainableModel, "
                             "not again with it")
        return model
    adapters = model.__dict__.setdefault("_picasso_explainable", {})
    key = (id(preprocess), output)
    if key not in adapters:
        adapters[key] = ExplainableModel(model, preprocess=preprocess, output=output)
    return adapters[key]


def check_finite(values, what):
    """Raise a ValueError naming `what` when `values` holds NaN or inf."""
    bad = ~np.isfinite(values)
    if bad.any():
        rows = sorted(set(np.nonzero(bad)[0].tolist()))[:10]
        raise ValueError(
            f"{what} contains NaN or inf (rows {rows}); check the model's weights, the "
            "images' value range and preprocess")


def check_images(images, input_shape=None):
    """Validate a probe batch: numeric, finite, (N, H, W, C), one size, fits the model."""
    if isinstance(images, (list, tuple)):
        shapes = {np.shape(im) for im in images}
        if len(shapes) > 1:
            raise ValueError(
                f"images have mixed sizes {sorted(shapes)}; resize them to the model's "
                "input size before passing them")
    try:
        array = np.asarray(images)
    except ValueError as err:
        raise ValueError(f"images could not be stacked into one array ({err}); pass an "
                         "array of shape (N, H, W, C)") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise ValueError(f"images must be a numeric array, got dtype {array.dtype}; "
                         "convert them to float32")
    if array.ndim == 3 and input_shape is not None and len(input_shape) == 3:
        raise ValueError(
            f"images has shape {array.shape}: a batch of images must be 4-D "
            f"(N, H, W, C); for one image use images[None] or np.expand_dims(image, 0)")
    if array.ndim != 4:
        raise ValueError(f"images must be 4-D (N, H, W, C), got shape {array.shape}; add a "
                         "channel axis for grey images (images[..., None])")
    if array.shape[0] == 0:
        raise ValueError("images is empty; pass at least one probe image")
    if input_shape is not None:
        for axis, (got, want) in enumerate(zip(array.shape[1:], input_shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"images have shape {array.shape[1:]} but the model expects "
                    f"{tuple(input_shape)} (axis {axis + 1}); resize or reshape the images")
    array = array.astype(np.float32)
    check_finite(array.reshape(len(array), -1), "images")
    return array
