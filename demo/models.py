"""The demo's small CNNs (Keras functional models, softmax outputs).

``digits_cnn`` takes integer labels, ``tank_cnn`` one-hot labels.

Both end their convolutional part with a named conv layer, ``"last_conv"``,
the layer Grad-CAM uses by default (the last layer with a spatial output).
"""

import keras
from keras import layers


def _conv_trunk(inputs):
    """Three 3x3 conv layers (16, 32, 32 filters) with two poolings; ends in last_conv."""
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu",
                      name="last_conv")(x)
    return x


def digits_cnn(input_shape=(32, 32, 1), num_classes=10):
    """A small CNN for the 32x32 digits: 3 conv layers, a dense head."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_trunk(inputs)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="digits_cnn")
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def tank_cnn(input_shape=(48, 48, 3), num_classes=2, label_smoothing=0.05):
    """A small CNN for the tank scenes: 3 conv layers, global pooling.

    Global average pooling lets it find a tank anywhere in the image, and just
    as easily read the overall brightness of the sky.

    Trained on one-hot labels with a little label smoothing: on the confounded
    scenes the sky separates the classes perfectly, and without it the
    probabilities saturate at exactly 0 or 1, where occluding a patch changes
    nothing and occlusion maps come out blank.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_trunk(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    model = keras.Model(inputs, outputs, name="tank_cnn")
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.CategoricalCrossentropy(
                      label_smoothing=label_smoothing),
                  metrics=["accuracy"])
    return model
