"""Keras 3 on TensorFlow, JAX and PyTorch: the same maps and quality metrics on shared
weights, the README snippets on each backend (JAX without TensorFlow), legacy Keras 2
refused before training, and one trace per compiled function per fit on TensorFlow.

Keras fixes its backend once per process, so every backend runs in a subprocess of its
own (backend_worker.py); this process (TensorFlow) saves the shared weights.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from backend_worker import STAGES, TARGETS, build_models
from conftest import bar_images
from tensorboard_picasso.history import RunHistory
from test_readme import python_blocks

TESTS = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
TOLERANCE = 1e-4       # of each map's range
METRIC_TOLERANCE = 1e-4
SUBPROCESS_SECONDS = 600


def run_python(args, backend, cwd, extra_env=None):
    """A Python subprocess on `backend`; returns its CompletedProcess (output as text)."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               **(extra_env or {}))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=SUBPROCESS_SECONDS)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{backend: the worker's arrays} for weights saved here: each model untrained and
    after a short fit."""
    import keras

    directory = tmp_path_factory.mktemp("backends")
    x, y = bar_images(96)
    for name, model in build_models().items():
        model.save_weights(str(directory / f"{name}.{STAGES[0]}.weights.h5"))
        from_logits = model.layers[-1].get_config().get("activation") == "linear"
        model.compile(keras.optimizers.Adam(1e-2),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
        model.fit(x, y, epochs=8, batch_size=32, verbose=0)
        model.save_weights(str(directory / f"{name}.{STAGES[1]}.weights.h5"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    workers = {backend: subprocess.Popen(
        [sys.executable, str(TESTS / "backend_worker.py"), str(directory)],
        env=dict(env, KERAS_BACKEND=backend), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for backend in BACKENDS}
    for backend, worker in workers.items():
        try:
            output, _ = worker.communicate(timeout=SUBPROCESS_SECONDS)
        except subprocess.TimeoutExpired:
            for other in workers.values():
                other.kill()
            raise
        assert worker.returncode == 0, f"{backend} worker failed:\n{output[-3000:]}"
    return {backend: dict(np.load(directory / f"{backend}.npz")) for backend in BACKENDS}


def test_the_workers_computed_every_method_for_every_model_and_target(results):
    keys = set(results["tensorflow"])
    for backend in BACKENDS[1:]:
        assert set(results[backend]) == keys
    for model in build_models():
        for method in ("occlusion", "saliency", "smoothgrad", "integrated_gradients",
                       "gradcam"):
            for target in TARGETS:
                maps = results["tensorflow"][f"{model}/{method}/{target}/maps"]
                assert maps.shape[:2] == ((6, 2) if target == "top2" else (6, 1))
                # blank maps would agree trivially: every map has values to compare
                assert (np.ptp(maps, axis=(-2, -1)) > 0).all(), (model, method, target)
            for metric in ("drift_previous", "drift_untrained", "deletion_auc",
                           "insertion_auc"):
                values = results["tensorflow"][f"{model}/{method}/{metric}"]
                assert np.isfinite(values).all()


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_maps_agree_with_tensorflow_within_1e4_of_their_range(results, backend):
    reference, other = results["tensorflow"], results[backend]
    for key in (k for k in reference if k.endswith("/maps")):
        targets = key[:-len("maps")] + "targets"
        np.testing.assert_array_equal(other[targets], reference[targets], err_msg=key)
        span = np.ptp(reference[key], axis=(-2, -1))
        error = np.abs(other[key] - reference[key]).max(axis=(-2, -1))
        assert (error <= TOLERANCE * span).all(), \
            f"{key}: worst error {float((error / span).max()):.2e} of the map's range"


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_quality_metrics_and_probabilities_agree_with_tensorflow(results, backend):
    reference, other = results["tensorflow"], results[backend]
    checked = [k for k in reference if not k.endswith(("/maps", "/targets"))]
    assert len(checked) == 3 * (5 * 4 + 1)    # models x (methods x metrics + probabilities)
    for key in checked:
        np.testing.assert_allclose(other[key], reference[key], rtol=0,
                                   atol=METRIC_TOLERANCE, err_msg=key)


def _steps_and_methods(run_dir):
    history = RunHistory.read(str(run_dir))
    assert history is not None, f"no Picasso rounds in {run_dir}"
    return {method: sorted(steps) for method, steps in history.maps.items()}


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_readme_keras_snippet_trains_and_logs_on(backend, tmp_path):
    snippet = next(b for b in python_blocks()
                   if "keras.callbacks.TensorBoard(log_dir)" in b)
    (tmp_path / "snippet.py").write_text(
        "import keras\nassert keras.backend.backend() == %r\n" % backend + snippet)
    done = run_python(["snippet.py"], backend, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = _steps_and_methods(tmp_path / "logs" / "readme_example" / "picasso")
    assert set(steps) == {"occlusion", "saliency", "gradcam"}
    for logged in steps.values():     # before training and the last epoch always
        assert logged[0] == -1 and logged[-1] == 2


def test_readme_jax_snippet_runs_with_tensorflow_unimportable(tmp_path):
    snippet = next(b for b in python_blocks() if '"KERAS_BACKEND"] = "jax"' in b)
    (tmp_path / "snippet.py").write_text(textwrap.dedent("""\
        import sys
        sys.modules["tensorflow"] = None     # `import tensorflow` raises ImportError
        """) + snippet + textwrap.dedent("""
        import keras
        assert keras.backend.backend() == "jax"
        assert sys.modules["tensorflow"] is None
        """))
    done = run_python(["snippet.py"], "jax", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "logs" / "jax_example"
    steps = _steps_and_methods(run / "picasso")
    assert set(steps) == {"occlusion", "saliency", "gradcam"}
    assert all(s[0] == -1 and s[-1] == 2 for s in steps.values())
    assert list((run / "train").glob("*tfevents*")), "the loss curves were not written"


def test_legacy_keras_2_fit_is_refused_before_training(tmp_path):
    pytest.importorskip("tf_keras")
    script = textwrap.dedent("""\
        import numpy as np
        import tensorflow as tf
        from tensorboard_picasso import PicassoCallback

        keras = tf.keras
        assert keras.__name__.startswith("tf_keras"), keras.__name__
        x = np.random.default_rng(0).random((32, 8, 8, 3)).astype("float32")
        y = np.arange(32) % 2
        model = keras.Sequential([keras.layers.Conv2D(4, 3, input_shape=(8, 8, 3)),
                                  keras.layers.GlobalAveragePooling2D(),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        batches = []
        seen = keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda batch, logs: batches.append(batch))
        try:
            model.fit(x, y, epochs=2, verbose=0,
                      callbacks=[seen, PicassoCallback("logs", images=x[:4])])
        except ValueError as error:
            print("REFUSED:", error)
        print("BATCHES:", len(batches), "ITERATIONS:", int(model.optimizer.iterations))
        """)
    (tmp_path / "legacy.py").write_text(script)
    done = run_python(["legacy.py"], "tensorflow", tmp_path, {"TF_USE_LEGACY_KERAS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    refused = [line for line in done.stdout.splitlines() if line.startswith("REFUSED:")]
    assert refused and "Keras 3" in refused[0] and "TF_USE_LEGACY_KERAS" in refused[0]
    assert "BATCHES: 0 ITERATIONS: 0" in done.stdout
    assert not (tmp_path / "logs").exists()


def test_each_compiled_function_is_traced_once_per_fit_on_tensorflow(tmp_path):
    import keras

    from models import small_cnn
    from tensorboard_picasso import PicassoCallback

    assert keras.backend.backend() == "tensorflow"
    x, y = bar_images(48)
    model = small_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    callback = PicassoCallback(
        str(tmp_path), x[:5], y[:5], budget=None, verbose=0, target=("predicted", "label"),
        methods=["occlusion", "saliency", "smoothgrad", "integrated_gradients", "gradcam"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[callback])
    traces = callback.logger.model.backend.traces
    # one blended forward (the clean pass, occlusion, the faithfulness curves) and one
    # function per gradient method
    assert len(traces) == 5 and "blended_forward" in traces, traces
    assert set(traces.values()) == {1}, traces
    assert len(_steps_and_methods(tmp_path / "picasso")["gradcam"]) == 4
