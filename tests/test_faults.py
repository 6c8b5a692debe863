"""Faults during training: nothing the user logged is lost or half-written, and training
goes on — methods raising each kind of error, a full disk that empties again, the run
directory replaced, a kill -9 in the middle of a round, a resumed fit."""

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import keras
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from tensorboard_picasso import PicassoCallback
from tensorboard_picasso.methods import ExplanationMethod
from tensorboard_picasso.summary import layout

from conftest import bar_images
from models import small_cnn
from tensorboard_harness import tensorboard_wsgi

METHODS = ["saliency", "gradcam"]
ROUND_TAGS = {layout.PREDICTIONS_TAG, *(layout.map_tag(m) for m in METHODS)}


def rounds(run_dir):
    """{step: tags} of every event in the run's files, and how many events each step has."""
    tags, events = {}, {}
    for path in sorted(glob.glob(os.path.join(run_dir, "*tfevents*"))):
        for event in EventFileLoader(path).Load():
            if event.summary.value:
                tags.setdefault(event.step, set()).update(v.tag for v in event.summary.value)
                events[event.step] = events.get(event.step, 0) + 1
    return tags, events


def served_steps(log_dir):
    """The steps of each method TensorBoard serves, with both loaders."""
    served = {}
    for load_fast in ("true", "false"):
        with tensorboard_wsgi(log_dir, load_fast) as client:
            index = client.get("/data/plugin/picasso/index").get_json()
        run = next(r for r in index["runs"] if r["run"] == "picasso")
        assert run["error"] is None, run["error"]
        served[load_fast] = {m["method"]: m["steps"] for m in run["methods"]}
    return served


def fit(callback, epochs, extra=(), initial_epoch=0, model=None):
    model = model or small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = bar_images(16)
    done = []
    model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch, verbose=0, callbacks=[
        callback, *extra,
        keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: done.append(e))])
    return done, model


class Flaky(ExplanationMethod):
    """A method that raises `error` at the calls listed in `failing` (0 = first; one call
    per round with one target per image)."""

    name = "flaky"

    def __init__(self, error, failing):
        self.error, self.failing, self.calls = error, failing, 0

    def compute(self, model, images, targets):
        self.calls += 1
        if self.calls - 1 in self.failing:
            raise self.error
        return np.ones(targets.shape + images.shape[1:3], np.float32)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("missing"),
                                   MemoryError("out of memory"), ValueError("bad")],
                         ids=lambda e: type(e).__name__)
def test_a_method_raising_mid_training_loses_that_round_only(tmp_path, error, capsys):
    x, y = bar_images(4)
    callback = PicassoCallback(tmp_path, x, y, methods=["saliency", Flaky(error, {2, 3})],
                               target="predicted", budget=None, metrics=())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done, _ = fit(callback, epochs=4)
    assert done == [0, 1, 2, 3]
    lost = [str(w.message) for w in caught if "not logged" in str(w.message)]
    assert len(lost) == 2 and type(error).__name__ in lost[0]
    assert "1 of 3 rounds lost" in lost[0] and "2 of 4 rounds lost" in lost[1]
    tags, events = rounds(tmp_path / "picasso")
    assert sorted(tags) == [-1, 0, 3]             # rounds 2 and 3 (steps 1, 2) are lost
    assert all(n == 1 for n in events.values())   # one event per round
    assert "2 rounds lost" in capsys.readouterr().out


@contextlib.contextmanager
def small_filesystem(path, size="300k"):
    """A tmpfs of `size` mounted at `path` (root, or an unprivileged user namespace)."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path):
    """Fill the filesystem of `path` up with a file; returns its name."""
    name = os.path.join(path, "filler")
    handle = open(name, "wb", buffering=0)
    try:
        while True:
            handle.write(b"\0" * 4096)
    except OSError:
        pass
    finally:
        handle.close()
    return name


def test_a_full_disk_loses_rounds_whole_and_logging_resumes(tmp_path):
    log_dir = tmp_path / "fs"
    x, y = bar_images(4)
    with small_filesystem(log_dir):
        def disk(epoch, logs):
            if epoch == 1:
                fill(log_dir)
            if epoch == 3:
                os.remove(log_dir / "filler")
        callback = PicassoCallback(log_dir, x, y, methods=METHODS, budget=None, metrics=())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            done, _ = fit(callback, epochs=6,
                          extra=[keras.callbacks.LambdaCallback(on_epoch_end=disk)])
        messages = [str(w.message) for w in caught if "Picasso" in str(w.message)]
        tags, events = rounds(log_dir / "picasso")
        sizes = [os.path.getsize(f) for f in glob.glob(str(log_dir / "picasso" / "*"))]
        shutil.copytree(log_dir, tmp_path / "copy")
    assert done == list(range(6))
    assert sum("not logged" in m and "could not write" in m for m in messages) == 2
    assert any("writing again" in m for m in messages)
    # the disk fills after step 1's round and empties after step 3's: 2 and 3 are lost
    assert sorted(tags) == [-1, 0, 1, 4, 5]
    assert all(ROUND_TAGS <= t for t in tags.values()) and set(events.values()) == {1}
    assert len(sizes) == 1 and sizes[0] > 0     # one file, no empty ones left behind
    for steps in served_steps(tmp_path / "copy").values():
        assert steps == {m: [-1, 0, 1, 4, 5] for m in METHODS}


def test_the_run_directory_replaced_mid_training_starts_a_new_file(tmp_path):
    x, y = bar_images(4)

    def replace(epoch, logs):
        if epoch == 1:
            shutil.rmtree(tmp_path / "picasso")
            os.makedirs(tmp_path / "picasso")
    callback = PicassoCallback(tmp_path, x, y, methods=METHODS, budget=None, metrics=())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(callback, epochs=4, extra=[keras.callbacks.LambdaCallback(on_epoch_end=replace)])
    assert any("removed or replaced" in str(w.message) for w in caught)
    tags, _ = rounds(tmp_path / "picasso")
    # rounds -1..1 went with the old directory; 2 and 3 are in a new file, probes again
    assert sorted(tags) == [2, 3] and layout.PROBES_TAG in tags[2]
    for steps in served_steps(tmp_path).values():
        assert steps == {m: [2, 3] for m in METHODS}


KILLED_SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np, keras
    sys.path[:0] = sys.argv[3:]
    from tensorboard_picasso import PicassoCallback
    from tensorboard_picasso.methods import ExplanationMethod
    from conftest import bar_images
    from models import small_cnn

    class Slow(ExplanationMethod):
        name = "slow"
        calls = 0
        def compute(self, model, images, targets):
            Slow.calls += 1
            if Slow.calls == 3:                     # the third round: signal, then stall
                open(sys.argv[2], "w").close()
                time.sleep(600)
            return np.ones(targets.shape + images.shape[1:3], np.float32)

    x, y = bar_images(16)
    model = small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=5, verbose=0, callbacks=[PicassoCallback(
        sys.argv[1], x[:4], y[:4], methods=["saliency", Slow()], target="predicted",
        budget=None, metrics=())])
""")


def test_kill_9_mid_round_leaves_only_whole_rounds(tmp_path):
    flag = tmp_path / "in_round"
    tests = os.path.dirname(__file__)
    process = subprocess.Popen([sys.executable, "-c", KILLED_SCRIPT, str(tmp_path / "logs"),
                                str(flag), tests], cwd=tests)
    try:
        deadline = time.monotonic() + 300
        while not flag.exists():
            assert process.poll() is None, "training exited before the third round"
            assert time.monotonic() < deadline, "the third round never started"
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    tags, events = rounds(tmp_path / "logs" / "picasso")
    assert sorted(tags) == [-1, 0] and set(events.values()) == {1}
    for steps in served_steps(tmp_path / "logs").values():
        assert steps == {"saliency": [-1, 0], "slow": [-1, 0]}


def test_a_resumed_fit_continues_its_run(tmp_path):
    x, y = bar_images(4)
    _, model = fit(PicassoCallback(tmp_path, x, y, methods=METHODS, budget=None), epochs=3)
    second = PicassoCallback(tmp_path, x, y, methods=METHODS, budget=None)
    done, _ = fit(second, epochs=6, initial_epoch=3, model=model)
    assert done == [3, 4, 5]
    tags, events = rounds(tmp_path / "picasso")
    assert sorted(tags) == [-1, 0, 1, 2, 3, 4, 5] and set(events.values()) == {1}
    assert sum(layout.PROBES_TAG in t for t in tags.values()) == 1   # probes once
    # drift_untrained of the resumed rounds is measured against the untrained maps (-1)
    with tensorboard_wsgi(tmp_path, "false") as client:
        series = client.get("/data/plugin/picasso/series?run=picasso&method=saliency"
                            ).get_json()
    drift = series["metrics"]["drift_untrained"]["mean"]
    assert series["steps"] == [-1, 0, 1, 2, 3, 4, 5]
    assert drift[0] is None and all(v is not None for v in drift[1:])


def test_a_rerun_into_the_same_directory_starts_over(tmp_path):
    """A new fit from epoch 0 into a used log_dir is a new run, not a resumed one: it logs
    its untrained model again and measures drift against it."""
    from tensorboard_harness import decode_block
    from tensorboard_picasso.quality.measures import rank_correlation

    x, y = bar_images(4)
    fit(PicassoCallback(tmp_path, x, y, methods=["saliency"], budget=None), epochs=2)
    keras.utils.set_random_seed(7)
    fit(PicassoCallback(tmp_path, x, y, methods=["saliency"], budget=None), epochs=2,
        model=small_cnn(classes=3, seed=7))
    tags, events = rounds(tmp_path / "picasso")
    assert events == {-1: 2, 0: 2, 1: 2}           # each step written by both fits
    with tensorboard_wsgi(tmp_path, "false") as client:
        series = client.get("/data/plugin/picasso/series?run=picasso&method=saliency"
                            ).get_json()
        maps = {step: decode_block(client.get(
            f"/data/plugin/picasso/block?run=picasso&method=saliency&step={step}").data)[1]
            for step in (-1, 0)}
    first = {step: np.stack([m[0] for m in per_image]) for step, per_image in maps.items()}
    expected = rank_correlation(first[0], first[-1])
    served = series["metrics"]["drift_untrained"]["images"][series["steps"].index(0)]
    np.testing.assert_allclose(served, expected, atol=1e-3)
