"""Small real Keras models with known answers, shared by the tests."""

import numpy as np
import keras


def linear_logits_model(shape=(8, 8, 3), classes=4, seed=0):
    """logits = W . flatten(x) + b; returns (model, W (H*W*C, classes), b)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(int(np.prod(shape)), classes)).astype("float32") * 0.3
    b = rng.normal(size=classes).astype("float32") * 0.1
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(),
                              keras.layers.Dense(classes)])
    model.layers[-1].set_weights([w, b])
    return model, w, b


def small_cnn(shape=(16, 16, 3), classes=3, seed=0, activation="softmax"):
    """A two-conv CNN, deterministically initialised."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(8, 3, padding="same", activation="tanh", name="conv1"),
        keras.layers.Conv2D(8, 3, padding="same", activation="tanh", name="conv2"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(classes, activation=activation, name="head"),
    ])


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
