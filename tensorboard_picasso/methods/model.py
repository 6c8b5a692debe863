"""A Keras 3 classifier seen by the explanation methods: images -> class scores and
probabilities, on whichever backend Keras runs (TensorFlow, JAX, PyTorch).

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
* Everything is computed in float32: under a mixed-precision policy every layer runs with
  a float32 policy while Picasso traces it (a float32 twin sharing the weights), so maps
  do not carry float16 rounding.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import keras
import numpy as np

from tensorboard_picasso.methods.backends import keras_backend
from tensorboard_picasso.methods.backends.base import Backend, Tensor
from tensorboard_picasso.methods.capture import (FeaturePoint, ModelProfile, profile,
                                                 sublayers, wrapped_calls)
from tensorboard_picasso.methods.checks import check_finite, check_images
from tensorboard_picasso.methods.value_range import model_value_range

_PROBABILITY_ACTIVATIONS = ("softmax", "sigmoid")


def _symbolic(model: Any, name: str) -> list[Any] | None:
    """`model.inputs` or `model.outputs` (name), or None where the model declares none: a
    subclassed model, or a Sequential built without an Input (Keras < 3.4 raises
    ValueError for those)."""
    try:
        return getattr(model, name, None)
    except ValueError:
        return None


class ExplainableModel:
    """A single-input Keras classifier; `preprocess` runs inside the model.

    Args:
      model: a Keras 3 model (Sequential, functional, subclassed, nested backbones), on
        any Keras backend.
      preprocess: optional differentiable function applied to images before the model
        (Picasso's model hook), so maps are computed w.r.t. the raw images.
      output: for multi-output models, the index or name of the class-score output.
    """

    layout = "channels_last"   # feature maps are (batch, h, w, channels)
    is_explainable = True

    def __init__(self, model: keras.Model, preprocess: Callable[[Tensor], Tensor] | None = None,
                 output: int | str | None = None) -> None:
        if isinstance(model, ExplainableModel):
            raise TypeError("model is already an ExplainableModel; pass it on as is")
        if not isinstance(model, keras.Model):
            raise ValueError(
                f"model must be a keras.Model, got {type(model).__name__}; wrap your "
                "network in keras.Model or keras.Sequential (for a torch.nn.Module use "
                "tensorboard_picasso.pytorch.TorchExplanationLogger)")
        if preprocess is not None and not callable(preprocess):
            raise ValueError("preprocess must be a function images -> model inputs, or None")
        self.keras_model = model
        self.preprocess = preprocess
        self.output = output
        self.backend: Backend = keras_backend()
        self._output_kind: str | None = None  # "probabilities" | "logits", fixed at first call
        self._single_unit: bool | None = None
        self._units: int | None = None
        self._functions: dict[Any, Callable[..., Any]] = {}
        self._profiles: dict[tuple[int, ...], ModelProfile] = {}
        self._check_inputs()
        self._output_index = self._resolve_output_index()

    # -- structure ---------------------------------------------------------------------
    def _check_inputs(self) -> None:
        inputs = _symbolic(self.keras_model, "inputs")
        if inputs and len(inputs) != 1:
            raise ValueError(
                f"model has {len(inputs)} inputs; Picasso explains models with one image "
                "input. Wrap the model so that it takes only the image.")
        if inputs and len(inputs[0].shape) != 4 and self.preprocess is None:
            raise ValueError(
                f"model input has shape {tuple(inputs[0].shape)}; Picasso explains image "
                "classifiers whose input is (batch, height, width, channels) (pass "
                "preprocess=... to turn such images into your model's input)")

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """(H, W, C) of the model input where known, entries None where free."""
        inputs = _symbolic(self.keras_model, "inputs")
        if not inputs:
            return None
        return tuple(inputs[0].shape[1:])

    @property
    def input_is_integer(self) -> bool:
        """Whether the model's input is an integer tensor (e.g. uint8 pixels): it has no
        gradient, so gradient methods cannot run on it."""
        inputs = _symbolic(self.keras_model, "inputs")
        return bool(inputs) and np.issubdtype(np.dtype(str(inputs[0].dtype)), np.integer)

    def expected_value_range(self) -> tuple[float, float] | None:
        """The pixel range the model's first layer (or integer input) implies, or None
        (see value_range.py)."""
        first = next((layer for _, layer in sublayers(self.keras_model)
                      if not isinstance(layer, (keras.layers.InputLayer, keras.Model))), None)
        inputs = _symbolic(self.keras_model, "inputs")
        dtype = str(inputs[0].dtype) if inputs else None
        return model_value_range(first if self.preprocess is None else None, dtype)

    def _output_names(self) -> list[str]:
        outputs = _symbolic(self.keras_model, "outputs") or []
        return [o._keras_history.operation.name for o in outputs]

    def _resolve_output_index(self) -> int | None:
        outputs = _symbolic(self.keras_model, "outputs")
        if not outputs:
            return None  # subclassed: decided at first call
        return self._pick_output(len(outputs), self._output_names())

    def _pick_output(self, count: int, names: list[str]) -> int:
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

    def _last_layer(self) -> Any:
        """The layer producing the chosen output (inside nested models), or None."""
        model = self.keras_model
        while True:
            outputs = _symbolic(model, "outputs")
            if not outputs:
                return None
            index = self._output_index if model is self.keras_model else 0
            layer = outputs[index or 0]._keras_history.operation
            if not isinstance(layer, keras.Model):
                return layer
            model = layer

    def _last_layer_activation(self) -> str | None:
        """Name of the final activation found structurally, or None when unknown."""
        layer = self._last_layer()
        if isinstance(layer, keras.layers.Softmax):
            return "softmax"
        return getattr(getattr(layer, "activation", None), "__name__", None)

    @contextlib.contextmanager
    def _linear_head(self) -> Iterator[bool]:
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

    @contextlib.contextmanager
    def _float32(self) -> Iterator[None]:
        """Every layer with a non-float32 compute dtype runs in float32 meanwhile."""
        layers = [layer for layer in self.keras_model._flatten_layers(include_self=True)
                  if getattr(layer, "compute_dtype", "float32") != "float32"]
        policies = [layer.dtype_policy for layer in layers]
        for layer in layers:
            layer.dtype_policy = "float32"
        try:
            yield
        finally:
            for layer, policy in zip(layers, policies):
                layer.dtype_policy = policy

    # -- computation ---------------------------------------------------------------------
    def raw_outputs(self, images: Tensor) -> Tensor:
        """The chosen model output for `images` (a tensor), shape (N, units), float32."""
        x = self.preprocess(images) if self.preprocess is not None else images
        with self._float32():
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
        return self.backend.ops.cast(out)

    def _detect(self, outputs: np.ndarray) -> None:
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
    def outputs_probabilities(self) -> bool:
        return self._output_kind == "probabilities"

    @property
    def num_classes(self) -> int:
        """Number of classes (2 for a single-unit output); known after `prepare`."""
        return 2 if self._single_unit else int(self._units)

    def prepare(self, images: object) -> np.ndarray:
        """Validate images against the model; on first use fix the output kind.

        Returns the images as float32 (N, H, W, C). Raises ValueError on bad images or
        NaN outputs.
        """
        images = check_images(images, self.input_shape)
        if self._output_kind is None:
            out = self.backend.numpy(self.raw_outputs(self._eager_input(images[:2])))
            check_finite(out, "model output")
            self._units = out.shape[1]
            self._detect(out)
        return images

    def _eager_input(self, images: np.ndarray) -> Tensor:
        tensor = getattr(self.backend, "tensor", None)
        return tensor(images) if tensor is not None else keras.ops.convert_to_tensor(images)

    def scores_and_probabilities(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(target scores, class probabilities), tensors (N, classes) each, from ONE call
        of the model (see the module's rule)."""
        ops = self.backend.ops
        with self._linear_head() as swapped:
            out = self.raw_outputs(images)
        if swapped:        # the logits of a softmax/sigmoid head
            head = self._last_layer_activation()
            probs = ops.softmax(out) if head == "softmax" and not self._single_unit \
                else ops.sigmoid(out)
            logits = True
        elif self.outputs_probabilities:   # probabilities from a head we cannot open
            probs, logits = out, False
        else:
            probs = ops.sigmoid(out) if self._single_unit else ops.softmax(out)
            logits = True
        if self._single_unit:
            scores = ops.concat([-out, out] if logits else [1.0 - out, out], 1)
            return scores, ops.concat([1.0 - probs, probs], 1)
        return out, probs

    def scores(self, images: Tensor) -> Tensor:
        """Target scores per class (tensor (N, classes)); see the module's rule."""
        return self.scores_and_probabilities(images)[0]

    def probabilities(self, images: Tensor) -> Tensor:
        """Class probabilities (tensor (N, classes))."""
        return self.scores_and_probabilities(images)[1]

    def compiled(self, key: Any, factory: Callable[["ExplainableModel"], Callable[..., Any]]
                 ) -> Callable[..., Any]:
        """One compiled function per key: `factory(self)` compiled by the backend (traced
        once per input shape), taking and returning NumPy arrays."""
        if key not in self._functions:
            self._functions[key] = self.backend.compile(
                factory(self), name=str(key), state=lambda: self.keras_model.variables)
        return self._functions[key]

    @contextlib.contextmanager
    def capture(self, point: FeaturePoint, delta: Tensor | None,
                store: dict[str, Tensor]) -> Iterator[None]:
        """While active, the tensor at `point` gets `delta` added (None: nothing) and is
        kept in store["activation"] — so a gradient w.r.t. `delta` is the gradient w.r.t.
        that tensor, on every backend."""
        layer = dict(sublayers(self.keras_model)).get(point.path)

        def hook(_: str, tensor: Tensor) -> Tensor:
            tensor = tensor + delta if delta is not None else tensor
            store["activation"] = tensor
            return tensor
        sides = {"before": hook} if point.side == "input" else {"after": hook}
        with wrapped_calls([(point.path, layer)], **sides):
            yield

    def has_layer(self, path: str) -> bool:
        return path in dict(sublayers(self.keras_model))

    def profile(self, images: np.ndarray) -> ModelProfile:
        """The model's feature points and activation size at these images' shape (one
        eager call on one image, cached per shape)."""
        key = images.shape[1:]
        if key not in self._profiles:
            x = self._eager_input(images[:1])
            self._profiles[key] = profile(self.keras_model, lambda: self.raw_outputs(x))
        return self._profiles[key]
