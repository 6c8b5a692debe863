"""Training the demo's models with the Picasso callback, and the summary.

Three runs under one log directory, each a ``keras.callbacks.TensorBoard``
run plus the Picasso callback on the same ``log_dir`` (it writes
``<log_dir>/picasso``):

- ``digits``: a small CNN on scikit-learn's handwritten digits.
- ``tank_confounded``: the tank scenes where a dark sky means "tank".
- ``tank_clean``: the same scenes with the sky at random.

The tank runs share their probe set: 16 scenes with the confound broken
(tanks under a bright sky, no tank under a dark one), so the two runs can be
compared image by image in the Picasso tab. After training, the summary
measures with :func:`tensorboard_picasso.quality.measures.shortcut_share` how much of
each final model's attribution lies on the background rather than the object.
"""

import dataclasses
import os
import sys
import time

import numpy as np

from demo import datasets, models

RUN_NAMES = ("digits", "tank_confounded", "tank_clean")
METHOD_NAMES = ("occlusion", "saliency", "gradcam")


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much to train. ``quick`` is the reduced setting of the tests."""

    digits_epochs: int = 8
    tank_epochs: int = 12
    tank_train_size: int = 2000
    tank_val_size: int = 400
    swapped_test_size: int = 400
    num_probes: int = 16
    seed: int = 0

    @classmethod
    def quick(cls):
        return cls(digits_epochs=2, tank_epochs=8, tank_train_size=1200,
                   tank_val_size=200, swapped_test_size=200)


@dataclasses.dataclass
class RunResult:
    """What the summary reports about one trained model."""

    name: str
    log_dir: str
    val_accuracy: float
    probe_accuracy: float
    swapped_accuracy: float = None     # tank runs: held-out, confound broken
    background_share: dict = None      # tank runs: method name -> mean share
    background_area: float = None      # tank runs: share of background pixels
    seconds: float = 0.0


def _methods(image_side):
    """The explanation methods, configured for the image size."""
    from tensorboard_picasso.methods import GradCAM, Occlusion, Saliency

    window = max(4, image_side // 6)
    return [Occlusion(window=window, stride=max(2, window // 2), fill="grey"),
            Saliency(), GradCAM()]


def _callbacks(log_dir, probes, probe_labels, class_names, image_side,
               masks=None):
    """Keras' TensorBoard callback and the Picasso callback on one log_dir.

    With object ``masks`` the Picasso callback also logs, per method, the
    object's share of the attribution over training (scalars
    ``picasso/<method>/shortcut_share``).
    """
    import keras

    from tensorboard_picasso import PicassoCallback

    return [
        keras.callbacks.TensorBoard(log_dir=log_dir),
        # every epoch is logged (budget=None): the demo's models train in seconds, and
        # the tab is the point; with labels, each image's true class is mapped too
        PicassoCallback(log_dir, images=probes, labels=probe_labels,
                        class_names=list(class_names),
                        methods=_methods(image_side), budget=None, masks=masks),
    ]


def _accuracy(model, images, labels, batch_size=256):
    # Eager calls: model.predict would retrace for every new array length.
    predicted = np.concatenate([
        np.argmax(np.asarray(model(images[i:i + batch_size], training=False)),
                  axis=1)
        for i in range(0, len(images), batch_size)])
    return float(np.mean(predicted == labels))


def _verbose():
    """Keras progress bars on a terminal; one line per epoch otherwise."""
    return 1 if sys.stdout.isatty() else 2


def train_digits(log_dir, settings=Settings()):
    """Train the digits CNN with the callbacks; return its :class:`RunResult`."""
    import keras

    start = time.time()
    keras.utils.set_random_seed(settings.seed)
    data = datasets.load_digits(size=32, seed=settings.seed)
    probe_idx = datasets.pick_probes(data.y_test, n=settings.num_probes,
                                     num_classes=10)
    probes, probe_labels = data.x_test[probe_idx], data.y_test[probe_idx]
    model = models.digits_cnn(input_shape=data.x_train.shape[1:])
    model.fit(data.x_train, data.y_train, epochs=settings.digits_epochs,
              batch_size=64, validation_data=(data.x_test, data.y_test),
              callbacks=_callbacks(log_dir, probes, probe_labels,
                                   datasets.DIGIT_CLASS_NAMES, 32),
              verbose=_verbose())
    return RunResult(
        name="digits", log_dir=log_dir,
        val_accuracy=_accuracy(model, data.x_test, data.y_test),
        probe_accuracy=_accuracy(model, probes, probe_labels),
        seconds=time.time() - start)


def background_shares(model, images, masks):
    """Mean background share of positive attribution, per method.

    Maps of the predicted class, from the library's methods; background share
    = 1 - :func:`~tensorboard_picasso.quality.measures.shortcut_share` with the object
    masks. Images whose map has no positive value are left out (NaN).
    """
    from tensorboard_picasso.methods import as_explainable
    from tensorboard_picasso.quality.measures import shortcut_share

    explainable = as_explainable(model)  # one wrapper: its tf.functions are reused
    shares = {}
    for method in _methods(images.shape[1]):
        expl = method.explain(explainable, images, target="predicted")
        object_share = shortcut_share(expl.maps, masks)  # (N, T)
        shares[method.name] = float(1.0 - np.nanmean(object_share))
    return shares


def train_tank(log_dir, sky, settings=Settings()):
    """Train a tank CNN on scenes with ``sky`` = "confounded" or "clean"."""
    import keras

    start = time.time()
    name = "tank_" + sky
    keras.utils.set_random_seed(settings.seed)
    train = datasets.make_tank_dataset(settings.tank_train_size, sky,
                                       seed=settings.seed + 1)
    val = datasets.make_tank_dataset(settings.tank_val_size, sky,
                                     seed=settings.seed + 2)
    swapped = datasets.make_tank_dataset(settings.swapped_test_size,
                                         "swapped", seed=settings.seed + 3)
    probes = datasets.make_tank_probes(settings.num_probes,
                                       seed=settings.seed + 4)
    model = models.tank_cnn(input_shape=train.images.shape[1:])
    one_hot = keras.utils.to_categorical
    model.fit(train.images, one_hot(train.labels, 2),
              epochs=settings.tank_epochs, batch_size=64,
              validation_data=(val.images, one_hot(val.labels, 2)),
              callbacks=_callbacks(log_dir, probes.images, probes.labels,
                                   datasets.TANK_CLASS_NAMES,
                                   train.images.shape[1], masks=probes.masks),
              verbose=_verbose())
    return RunResult(
        name=name, log_dir=log_dir,
        val_accuracy=_accuracy(model, val.images, val.labels),
        probe_accuracy=_accuracy(model, probes.images, probes.labels),
        swapped_accuracy=_accuracy(model, swapped.images, swapped.labels),
        background_share=background_shares(model, probes.images, probes.masks),
        background_area=float(1.0 - probes.masks.mean()),
        seconds=time.time() - start)


def run_all(logdir, settings=Settings(), log=print):
    """Train the three runs under ``logdir``; return their results in order."""
    steps = [
        ("digits", "handwritten digits (scikit-learn), 32x32",
         lambda d: train_digits(d, settings)),
        ("tank_confounded", "tank scenes, dark sky = tank (confounded)",
         lambda d: train_tank(d, "confounded", settings)),
        ("tank_clean", "tank scenes, sky at random (clean)",
         lambda d: train_tank(d, "clean", settings)),
    ]
    results = []
    for i, (name, what, train) in enumerate(steps, 1):
        log_dir = os.path.join(logdir, name)
        log("\n[%d/%d] %s: %s -> %s" % (i, len(steps), name, what, log_dir))
        results.append(train(log_dir))
    return results


def _pct(value):
    return "   -" if value is None else "%3.0f%%" % (100 * value)


def format_summary(results, settings=Settings()):
    """The printed summary: accuracies and background shares per run."""
    lines = ["", "Summary", "======="]
    for r in results:
        if r.name == "digits":
            lines.append("digits: validation accuracy %s, accuracy on the %d "
                         "probe images %s" % (_pct(r.val_accuracy).strip(),
                                              settings.num_probes,
                                              _pct(r.probe_accuracy).strip()))
    tanks = [r for r in results if r.background_share is not None]
    if not tanks:
        return "\n".join(lines)
    methods = list(tanks[0].background_share)
    width = 11 * len(methods)
    lines += [
        "",
        "The tank story",
        "",
        "%-16s %s   %s" % ("", "accuracy".center(32),
                              "background share".center(width)),
        "%-16s %10s %8s %11s   %s" % (
            "model", "validation", "probes", "swapped sky",
            "".join("%11s" % m for m in methods)),
    ]
    for r in tanks:
        lines.append("%-16s %10s %8s %11s   %s" % (
            r.name, _pct(r.val_accuracy), _pct(r.probe_accuracy),
            _pct(r.swapped_accuracy),
            "".join("%11.2f" % r.background_share[m] for m in methods)))
    lines += [
        "",
        "  validation:  %d held-out images like the model's training set"
        % settings.tank_val_size,
        "  probes:      the %d probe images in the Picasso tab, confound "
        "broken (tanks under a bright sky, no tank under a dark one)"
        % settings.num_probes,
        "  swapped sky: %d more held-out images with the confound broken"
        % settings.swapped_test_size,
        "  background share: the share of positive attribution outside the "
        "object, 1 - shortcut_share(maps, object masks),",
        "               mean over the probe images, maps of the predicted "
        "class by the final model. The background covers",
        "               %.0f%% of the pixels: a map that ignores the object "
        "scores about %.2f." % (100 * tanks[0].background_area,
                                tanks[0].background_area),
    ]
    by_name = {r.name: r for r in tanks}
    conf, clean = by_name.get("tank_confounded"), by_name.get("tank_clean")
    if conf is not None and clean is not None:
        mean_conf = float(np.mean(list(conf.background_share.values())))
        mean_clean = float(np.mean(list(clean.background_share.values())))
        if mean_conf > mean_clean:
            verdict = ("The confounded model puts a larger share of its "
                       "attribution on the background than the clean model "
                       "(%.2f vs %.2f, mean over methods):\nit learned the "
                       "sky, not the tank." % (mean_conf, mean_clean))
        else:
            verdict = ("The confounded model does not put a larger share of "
                       "its attribution on the background than the clean "
                       "model (%.2f vs %.2f, mean over methods)."
                       % (mean_conf, mean_clean))
        lines += ["", verdict,
                  "In the Picasso tab, compare the runs tank_confounded/"
                  "picasso and tank_clean/picasso; the scalars",
                  "picasso/<method>/shortcut_share show the object's share "
                  "(1 - background share) checkpoint by checkpoint."]
    return "\n".join(lines)
