"""A plain PyTorch classifier (`torch.nn.Module`) seen by the explanation methods.

The methods work on (N, H, W, C) images; the module gets them as (N, C, H, W), the PyTorch
convention, after `preprocess` (which also sees (N, C, H, W)). Feature maps are
channels-first. The module runs in eval mode while Picasso computes (BatchNorm uses its
running statistics, dropout is off) and goes back to the mode it was in; parameters get no
`.grad` (gradients are taken w.r.t. inputs only, with `torch.autograd.grad`).

Score rule: the output is taken as logits unless its values say otherwise (all in [0, 1]
and rows summing to 1: probabilities), and unless the module ends in `nn.Softmax` /
`nn.Sigmoid`, which is then skipped while gradient methods trace their score, so they
differentiate the logit. A single-unit output is a two-class problem, as for Keras
(methods/model.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from tensorboard_picasso.methods.backends.torch import TorchBackend, TorchOps
from tensorboard_picasso.methods.capture import FeaturePoint, ModelProfile, ProfileRecorder
from tensorboard_picasso.methods.checks import check_finite, check_images

_HEADS = (torch.nn.Softmax, torch.nn.Sigmoid)


class TorchExplainableModel:
    """A `torch.nn.Module` image classifier taking (N, C, H, W) float tensors.

    Args:
      module: the classifier; it outputs class scores (N, classes) (logits, or
        probabilities).
      preprocess: optional differentiable function on (N, C, H, W) tensors applied before
        the module (e.g. normalisation), so maps are w.r.t. the raw images.
      output: for a module returning a tuple or dict, the index or key of the scores.
    """

    layout = "channels_first"
    is_explainable = True
    input_is_integer = False

    def __init__(self, module: torch.nn.Module,
                 preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 output: int | str | None = None) -> None:
        if not isinstance(module, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(module).__name__}")
        if preprocess is not None and not callable(preprocess):
            raise ValueError("preprocess must be a function images -> model inputs, or None")
        self.module = module
        self.preprocess = preprocess
        self.output = output
        parameter = next(module.parameters(), None)
        self.backend = TorchBackend(parameter.device if parameter is not None else "cpu",
                                    TorchOps())
        self._units: int | None = None
        self._probabilities: bool | None = None
        self._profiles: dict[tuple[int, ...], ModelProfile] = {}
        self._functions: dict[Any, Callable[..., Any]] = {}

    # -- structure -------------------------------------------------------------------------
    def _head(self) -> torch.nn.Module | None:
        """The module's final Softmax/Sigmoid layer, when it ends in one."""
        last = None
        for child in self.module.modules():
            last = child
        return last if isinstance(last, _HEADS) else None

    @property
    def input_shape(self) -> None:
        return None   # a Module does not declare it: the probes' shape is taken as is

    def expected_value_range(self) -> None:
        return None   # the probes decide (value_range.py)

    @property
    def outputs_probabilities(self) -> bool:
        return bool(self._probabilities)

    @property
    def num_classes(self) -> int:
        return 2 if self._units == 1 else int(self._units)

    # -- computation -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _eval_mode(self) -> Iterator[None]:
        training = self.module.training
        self.module.eval()
        try:
            yield
        finally:
            self.module.train(training)

    def raw_outputs(self, images: torch.Tensor) -> torch.Tensor:
        """The module's class scores (N, units) for NHWC images, float32."""
        x = images.permute(0, 3, 1, 2)
        if self.preprocess is not None:
            x = self.preprocess(x)
        with self._eval_mode():
            out = self.module(x)
        if isinstance(out, dict):
            out = out[self.output if self.output is not None else next(iter(out))]
        elif isinstance(out, (list, tuple)):
            out = out[self.output or 0]
        if out.ndim != 2:
            raise ValueError(f"model output has shape {tuple(out.shape)}; Picasso needs class "
                             "scores of shape (batch, classes). Pick them with output=...")
        return out.float()

    def scores_and_probabilities(self, images: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """(target scores, class probabilities), (N, classes) each, from one call."""
        head = self._head()
        if head is not None:
            handle = head.register_forward_hook(lambda module, inputs, output: inputs[0])
            try:
                logits = self.raw_outputs(images)
            finally:
                handle.remove()
            probs = torch.sigmoid(logits) if isinstance(head, torch.nn.Sigmoid) or \
                logits.shape[1] == 1 else torch.softmax(logits, dim=1)
            is_logit = True
        else:
            out = self.raw_outputs(images)
            if self._probabilities:
                logits, probs, is_logit = out, out, False
            else:
                logits, is_logit = out, True
                probs = torch.sigmoid(out) if out.shape[1] == 1 else torch.softmax(out, dim=1)
        if logits.shape[1] == 1:
            scores = torch.cat([-logits, logits] if is_logit else [1 - logits, logits], 1)
            return scores, torch.cat([1 - probs, probs], 1)
        return logits, probs

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        return self.scores_and_probabilities(images)[0]

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        return self.scores_and_probabilities(images)[1]

    def prepare(self, images: object) -> np.ndarray:
        """Validate (N, H, W, C) images; on first use fix the output kind."""
        images = check_images(images)
        if self._units is None:
            with torch.no_grad():
                out = self.backend.numpy(self.raw_outputs(self.backend.tensor(images[:2])))
            check_finite(out, "model output")
            self._units = out.shape[1]
            single = out.shape[1] == 1
            self._probabilities = bool(np.all((out >= 0) & (out <= 1)) and (
                single or np.allclose(out.sum(axis=1), 1.0, atol=1e-3)))
        return images

    def compiled(self, key: Any, factory: Callable[[Any], Callable[..., Any]]
                 ) -> Callable[..., Any]:
        if key not in self._functions:
            self._functions[key] = self.backend.compile(factory(self), name=str(key))
        return self._functions[key]

    # -- inside the module -------------------------------------------------------------------
    def has_layer(self, path: str) -> bool:
        return path in dict(self.module.named_modules())

    @contextlib.contextmanager
    def capture(self, point: FeaturePoint, delta: torch.Tensor | None,
                store: dict[str, torch.Tensor]) -> Iterator[None]:
        """While active, the tensor at `point` gets `delta` added and is kept in
        store["activation"] (see methods/model.py)."""
        module = self.module.get_submodule(point.path)

        def shift(tensor: torch.Tensor) -> torch.Tensor:
            tensor = tensor + delta if delta is not None else tensor
            store["activation"] = tensor
            return tensor
        if point.side == "input":
            handle = module.register_forward_pre_hook(
                lambda m, inputs: (shift(inputs[0]),) + tuple(inputs[1:]))
        else:
            handle = module.register_forward_hook(lambda m, inputs, output: shift(output))
        try:
            yield
        finally:
            handle.remove()

    def profile(self, images: np.ndarray) -> ModelProfile:
        """Feature maps and activation size at these images' shape (one call, cached)."""
        key = images.shape[1:]
        if key not in self._profiles:
            recorder = ProfileRecorder(spatial=(2, 3))
            handles = [module.register_forward_hook(
                lambda m, inputs, output, _path=path: recorder.observe(
                    _path, inputs[0] if inputs else None, output))
                for path, module in self.module.named_modules()
                if path and not list(module.children())]
            try:
                with torch.no_grad():
                    self.raw_outputs(self.backend.tensor(images[:1]))
            finally:
                for handle in handles:
                    handle.remove()
            self._profiles[key] = recorder.result()
        return self._profiles[key]
