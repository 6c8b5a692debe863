"""The PyTorch backend: eager calls under `torch.no_grad`, gradients by `torch.autograd`
(Keras 3 on PyTorch, and plain `torch.nn.Module`s)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from tensorboard_picasso.methods.backends.base import Backend, Tensor


class TorchOps:
    """`Ops` (see base.py) in plain PyTorch, for `torch.nn.Module`s without Keras."""

    @staticmethod
    def take(x: Tensor, index: Tensor) -> Tensor:
        return torch.index_select(x, 0, index.long())

    @staticmethod
    def pick(x: Tensor, index: Tensor) -> Tensor:
        return torch.gather(x, 1, index.long()[:, None])[:, 0]

    softmax = staticmethod(lambda x: torch.softmax(x, dim=-1))
    sigmoid = staticmethod(torch.sigmoid)
    abs = staticmethod(torch.abs)

    @staticmethod
    def maximum(x: Tensor, y: Any) -> Tensor:
        return torch.clamp(x, min=y) if not torch.is_tensor(y) else torch.maximum(x, y)

    @staticmethod
    def concat(xs: Sequence[Tensor], axis: int) -> Tensor:
        return torch.cat(list(xs), dim=axis)

    @staticmethod
    def cast(x: Tensor) -> Tensor:
        return x.float()

    @staticmethod
    def sum(x: Tensor, axis: Any, keepdims: bool = False) -> Tensor:
        return torch.sum(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def mean(x: Tensor, axis: Any, keepdims: bool = False) -> Tensor:
        return torch.mean(x, dim=axis, keepdim=keepdims)

    @staticmethod
    def max(x: Tensor, axis: Any) -> Tensor:
        return torch.amax(x, dim=axis)

    @staticmethod
    def resolve_predicted(classes: Tensor, scores: Tensor) -> Tensor:
        return torch.where(classes < 0, scores.argmax(-1).to(classes.dtype), classes)


class TorchBackend(Backend):
    """Runs eagerly on `device`; forward passes without autograd bookkeeping."""

    name = "torch"

    def __init__(self, device: Any = None, ops: Any = None) -> None:
        super().__init__()
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        if ops is None:
            from tensorboard_picasso.methods.backends.keras_ops import KerasOps
            ops = KerasOps()
        self.ops = ops

    def _counting(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        return function  # eager: nothing is traced

    def _compile(self, function: Callable[..., Any],
                 state: Callable[[], Sequence[Any]] | None) -> Callable[..., Any]:
        def run(*arrays: Any) -> Any:
            with torch.no_grad():
                return function(*[self.tensor(a) for a in arrays])
        return run

    def tensor(self, array: Any) -> Tensor:
        """A NumPy array (or tensor) as a tensor on the backend's device."""
        if torch.is_tensor(array):
            return array.to(self.device)
        array = np.asarray(array)
        if not array.flags.writeable:   # torch warns on read-only memory (broadcast views)
            array = array.copy()
        return torch.as_tensor(array, device=self.device)

    def gradients(self, function: Callable[..., tuple[Tensor, Any]], args: Sequence[Tensor],
                  wrt: Sequence[int]) -> tuple[list[Tensor], Any]:
        with torch.enable_grad():
            full = list(args)
            for i in wrt:
                full[i] = args[i].detach().clone().requires_grad_(True)
            values, aux = function(*full)
            grads = torch.autograd.grad(values.sum(), [full[i] for i in wrt])
        detach = lambda t: t.detach() if torch.is_tensor(t) else t  # noqa: E731
        aux = tuple(detach(a) for a in aux) if isinstance(aux, tuple) else detach(aux)
        return list(grads), aux

    def numpy(self, tensor: Tensor) -> np.ndarray:
        if torch.is_tensor(tensor):
            return tensor.detach().cpu().numpy()
        return np.asarray(tensor)
