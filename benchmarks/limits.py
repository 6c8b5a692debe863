"""The brute-force limits the benchmarks divide by, written plainly in each backend's own
idiom (no Picasso code): a batched compiled forward pass, and forward+backward passes
w.r.t. the input. Each returns a thunk that runs the work once; inputs are converted to
the backend's tensors beforehand, outputs come back to NumPy (as Picasso's do)."""

import keras
import numpy as np


def forward_limit(model, images, batch):
    """A plain batched forward pass over `images` (N, H, W, C), `batch` at a time."""
    backend = keras.backend.backend()
    chunks = [images[s:s + batch] for s in range(0, len(images), batch)]
    if backend == "tensorflow":
        import tensorflow as tf
        forward = tf.function(lambda x: model(x, training=False))
        tensors = [tf.constant(c) for c in chunks]
        return lambda: [forward(t).numpy() for t in tensors]
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]
        forward = jax.jit(lambda t, f, x: model.stateless_call(t, f, x, training=False)[0])
        tensors = [jnp.asarray(c) for c in chunks]
        return lambda: [np.asarray(forward(trainable, frozen, t)) for t in tensors]
    import torch
    tensors = [torch.as_tensor(c) for c in chunks]

    def run():
        with torch.no_grad():
            return [model(t, training=False).cpu().numpy() for t in tensors]
    return run


def backward_limit(model, images, passes=1):
    """`passes` forward+backward passes of `images` w.r.t. the input (score: class 0)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        x = tf.constant(images)

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                score = tf.reduce_sum(model(x, training=False)[:, 0])
            return tape.gradient(score, x)
        return lambda: [step(x).numpy() for _ in range(passes)]
    if backend == "jax":
        import jax
        import jax.numpy as jnp
        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def score(x, t, f):
            return jnp.sum(model.stateless_call(t, f, x, training=False)[0][:, 0])
        gradient = jax.jit(jax.grad(score))
        x = jnp.asarray(images)
        return lambda: [np.asarray(gradient(x, trainable, frozen)) for _ in range(passes)]
    import torch

    def run():
        out = []
        for _ in range(passes):
            x = torch.as_tensor(images).requires_grad_(True)
            score = model(x, training=False)[:, 0].sum()
            out.append(torch.autograd.grad(score, x)[0].numpy())
        return out
    return run
