"""Shared test set-up: quiet TensorFlow, small real Keras models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np
import pytest

EPOCHS = 12            # more than TensorBoard's default of 10 samples per plugin tag
PROBE_COUNT = 5
CLASS_NAMES = ["left", "right", "<script>alert(1)</script>"]


def bar_images(count, side=16, seed=0):
    """Noise with a bright bar on the left, right or top: a 3-class task a CNN learns."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, size=(count, side, side, 3)).astype("float32")
    y = np.arange(count) % 3
    for image, label in zip(x, y):
        if label == 0:
            image[:, 2:5] = 1.0
        elif label == 1:
            image[:, -5:-2] = 1.0
        else:
            image[2:5, :] = 1.0
    return x, y


@pytest.fixture(scope="session")
def trained_logs(tmp_path_factory):
    """A real model.fit with the callback for EPOCHS epochs, weights saved every epoch.

    Returns (log_dir, probe images, probe labels, build_model, weights_path(epoch)).
    """
    import keras

    from tensorboard_picasso import PicassoCallback
    from models import small_cnn

    root = tmp_path_factory.mktemp("trained")
    log_dir = root / "logs"
    x, y = bar_images(96)
    probes, probe_labels = x[:PROBE_COUNT], y[:PROBE_COUNT]
    build = lambda: small_cnn(classes=3)  # noqa: E731
    model = build()
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    weights = str(root / "weights_{epoch:02d}.weights.h5")
    model.fit(x, y, epochs=EPOCHS, batch_size=32, verbose=0, callbacks=[
        keras.callbacks.TensorBoard(str(log_dir)),
        keras.callbacks.ModelCheckpoint(weights, save_weights_only=True),
        PicassoCallback(str(log_dir), probes, probe_labels, class_names=CLASS_NAMES,
                        methods=["occlusion", "saliency", "gradcam"], target="predicted",
                        budget=None, verbose=0),
    ])
    return log_dir, probes, probe_labels, build, lambda epoch: weights.format(
        epoch=epoch + 1)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the tab's tests (tests/tab_browser.py)."""
    from tab_browser import launch, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()
