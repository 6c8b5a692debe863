"""The time budget: explanation logging keeps to its share of the training time, and
the first and last checkpoints are always there."""

import time

import numpy as np
import pytest
import keras

from tensorboard_picasso import PicassoCallback
from tensorboard_picasso.budget import TimeBudget
from tensorboard_picasso.methods import ExplanationMethod, Occlusion

from conftest import bar_images
from models import small_cnn
from tensorboard_harness import tensorboard_wsgi

ROUND_SECONDS = 0.6


class Expensive(ExplanationMethod):
    """A method that costs ROUND_SECONDS of wall time per round."""

    name = "expensive"

    def compute(self, model, images, targets):
        time.sleep(ROUND_SECONDS)
        return np.ones(targets.shape + images.shape[1:3], np.float32)


class SlowEpochs(keras.callbacks.Callback):
    """Makes each epoch last about `seconds` (a larger training set, without the data)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        time.sleep(self.seconds)


def fit(callback, epochs, epoch_seconds, warm=False):
    """Fits a small CNN; `warm`: its compiled functions traced beforehand, so the rounds
    cost what the Expensive method costs."""
    model = small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = bar_images(16)
    if warm:
        Occlusion(window=8).explain(model, x[:4])
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[SlowEpochs(epoch_seconds),
                                                         callback])
    return time.perf_counter() - start


def steps_and_skips(log_dir):
    with tensorboard_wsgi(log_dir, "false") as client:
        index = client.get("/data/plugin/picasso/index").get_json()
        response = client.get("/data/plugin/scalars/scalars?run=picasso&tag=picasso/"
                              "skipped_rounds")
    skipped = response.get_json() if response.status_code == 200 else []
    run = next(r for r in index["runs"] if r["run"] == "picasso")
    return run["methods"][0]["steps"], [(step, value) for _, step, value in skipped]


def test_the_budget_spaces_rounds_and_keeps_the_first_and_last(tmp_path, capsys):
    x, y = bar_images(4)
    callback = PicassoCallback(tmp_path, x, y, methods=[Expensive()], metrics=(),
                               target="predicted", budget=0.25)
    epochs, epoch_seconds = 16, 0.4
    total = fit(callback, epochs, epoch_seconds, warm=True)
    steps, skipped = steps_and_skips(tmp_path)
    assert steps[0] == -1 and steps[-1] == epochs - 1          # first and last
    assert 3 <= len(steps) <= epochs // 2                      # spaced, not dropped
    assert callback.budget.skipped == epochs + 1 - len(steps)
    assert skipped[-1] == (epochs - 1, callback.budget.skipped)  # the scalar says so
    # every round the budget allowed kept Picasso's seconds within 25% of the training
    # time at the time; the forced last round may go over by at most one round
    assert callback.budget.spent <= 0.25 * (total - callback.budget.spent) + ROUND_SECONDS + 0.2
    out = capsys.readouterr().out
    assert f"{callback.budget.skipped} rounds skipped to stay within 25%" in out


def test_without_a_budget_every_epoch_is_logged(tmp_path):
    x, y = bar_images(4)
    callback = PicassoCallback(tmp_path, x, y, methods=[Expensive()], metrics=(),
                               target="predicted", budget=None, verbose=0)
    fit(callback, epochs=4, epoch_seconds=0.0)
    steps, skipped = steps_and_skips(tmp_path)
    assert steps == [-1, 0, 1, 2, 3] and skipped == []
    assert callback.budget.skipped == 0


def test_methods_are_traced_once_per_fit(tmp_path):
    x, y = bar_images(4)
    callback = PicassoCallback(tmp_path, x, y, methods=["occlusion", "saliency", "gradcam",
                                                       "smoothgrad", "integrated_gradients"],
                               budget=None, verbose=0)     # ragged targets vary per round
    fit(callback, epochs=4, epoch_seconds=0.0)
    traces = callback.logger.model.backend.traces
    assert len(traces) >= 5 and set(traces.values()) == {1}, traces


def test_one_time_tracing_is_not_expected_of_every_round():
    budget = TimeBudget(0.1)
    budget.record(seconds=5.0, setup=4.5)        # the first round: mostly tracing
    assert budget.estimate == pytest.approx(0.5)
    assert budget.allows(elapsed=60.0)           # 5.5 <= 0.1 * (60 - 5)
    assert not budget.allows(elapsed=55.0)       # 5.5 >  0.1 * (55 - 5)
    assert budget.skipped == 1


@pytest.mark.parametrize("share", [0, -0.1, 1.5, "10%", True])
def test_bad_budgets(share):
    with pytest.raises(ValueError, match="budget must be a share"):
        TimeBudget(share)
