"""Array-library backends for the explanation methods (see base.py).

`keras_backend()` is the one Keras 3 runs on (TensorFlow, JAX or PyTorch); plain
`torch.nn.Module`s use `TorchBackend(device, TorchOps())` (see methods/torch_model.py).
Each backend module imports its library, so only the one in use is imported.
"""

from __future__ import annotations

from tensorboard_picasso.methods.backends.base import Backend

SUPPORTED_KERAS_BACKENDS = ("tensorflow", "jax", "torch")


def keras_backend() -> Backend:
    """A new Backend for the library Keras 3 runs on; ValueError for any other."""
    import keras

    name = keras.backend.backend()
    if name == "tensorflow":
        from tensorboard_picasso.methods.backends.tensorflow import TensorFlowBackend
        return TensorFlowBackend()
    if name == "jax":
        from tensorboard_picasso.methods.backends.jax import JaxBackend
        return JaxBackend()
    if name == "torch":
        from keras.src.backend.torch.core import get_device
        from tensorboard_picasso.methods.backends.torch import TorchBackend
        return TorchBackend(device=get_device())
    raise ValueError(f"Keras runs on the {name!r} backend; Picasso supports "
                     f"{', '.join(SUPPORTED_KERAS_BACKENDS)} (set KERAS_BACKEND)")
