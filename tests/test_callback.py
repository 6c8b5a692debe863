"""The callback during a real model.fit, read back by real TensorBoard (both loaders)."""

import base64
import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
import keras

from tensorboard_picasso import PicassoCallback
from tensorboard_picasso.logger import ExplanationLogger, log_explanations
from tensorboard_picasso.methods import GradCAM, Occlusion, Saliency
from tensorboard_picasso.methods.model import ExplainableModel

from conftest import CLASS_NAMES, EPOCHS, PROBE_COUNT, bar_images
from models import small_cnn
from tensorboard_harness import get_json, tensorboard_process, tensorboard_wsgi

ALL_STEPS = list(range(-1, EPOCHS))


def decode(body):
    values = np.frombuffer(base64.b64decode(body["data"]), dtype="<f4")
    return values.reshape(body["height"], body["width"])


def expected_maps(trained_logs, step):
    """What the methods compute for the checkpoint saved at `step` (an epoch)."""
    _, probes, _, build, weights = trained_logs
    model = build()
    model.load_weights(weights(step))
    explainable = ExplainableModel(model)
    return {m.name: m.explain(explainable, probes) for m in (Occlusion(), Saliency(),
                                                              GradCAM())}


def index_steps(index, run="picasso"):
    entry = next(r for r in index["runs"] if r["run"] == run)
    return {m["method"]: m["steps"] for m in entry["methods"]}, entry


def all_steps_loaded(index):
    return any(r["run"] == "picasso" and r["methods"]
               and len(r["methods"][0]["steps"]) == len(ALL_STEPS) for r in index["runs"])


def test_rust_data_server_serves_every_step_and_exact_maps(trained_logs):
    log_dir = trained_logs[0]
    with tensorboard_process(log_dir, "true", ready=all_steps_loaded) as base:
        _, index = get_json(base + "data/plugin/picasso/index")
        steps, entry = index_steps(index)
        assert steps == {m: ALL_STEPS for m in ("gradcam", "occlusion", "saliency")}
        assert entry["prediction_steps"] == ALL_STEPS
        assert len(entry["probes"]) == PROBE_COUNT
        for step in (3, EPOCHS - 1):
            expected = expected_maps(trained_logs, step)
            for method, explanation in expected.items():
                for image in range(PROBE_COUNT):
                    _, body = get_json(f"{base}data/plugin/picasso/map?run=picasso&method="
                                       f"{method}&step={step}&image={image}")
                    truth = explanation.maps[image, 0]
                    assert body["target_class"] == explanation.targets[image, 0]
                    span = max(float(truth.max() - truth.min()), 1e-12)
                    assert np.abs(decode(body) - truth).max() <= 1e-4 * span + 1e-9


def test_python_loader_keeps_every_step_and_probes_once(trained_logs):
    log_dir, probes, labels = trained_logs[:3]
    with tensorboard_wsgi(log_dir, "false") as client:
        index = client.get("/data/plugin/picasso/index").get_json()
        steps, entry = index_steps(index)
        assert steps["occlusion"] == ALL_STEPS
        assert [p["label"] for p in entry["probes"]] == labels.tolist()
        assert entry["probes"][2]["label_name"] == CLASS_NAMES[2]
        expected = expected_maps(trained_logs, 5)["saliency"]
        body = client.get("/data/plugin/picasso/map?run=picasso&method=saliency&step=5"
                          "&image=1").get_json()
        truth = expected.maps[1, 0]
        assert np.abs(decode(body) - truth).max() <= 1e-4 * (truth.max() - truth.min())
    from tensorboard.backend.event_processing import event_accumulator
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir / "picasso"), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    assert len(accumulator.Tensors("probes")) == 1          # written once per run
    assert len(accumulator.Tensors("map/occlusion")) == len(ALL_STEPS)


def test_untrained_model_is_logged_before_training_and_differs(trained_logs):
    with tensorboard_wsgi(trained_logs[0], "false") as client:
        get = lambda step: decode(client.get(  # noqa: E731
            f"/data/plugin/picasso/map?run=picasso&method=occlusion&step={step}&image=0"
        ).get_json())
        assert not np.allclose(get(-1), get(EPOCHS - 1))


def test_explicit_samples_per_plugin_wins_over_keep_all(trained_logs):
    log_dir = trained_logs[0]
    for load_fast in ("true", "false"):
        with tensorboard_wsgi(log_dir, load_fast, "--samples_per_plugin",
                              "picasso=4") as client:
            steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
            assert len(steps["occlusion"]) == 4, load_fast
            assert steps["occlusion"][-1] == EPOCHS - 1


def test_keep_all_default_in_process_rust_loader(trained_logs):
    with tensorboard_wsgi(trained_logs[0], "true") as client:
        steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
        assert steps["gradcam"] == ALL_STEPS


def test_cost_scalar_beside_keras_epoch_scalars(trained_logs):
    with tensorboard_wsgi(trained_logs[0], "false") as client:
        tags = client.get("/data/plugin/scalars/tags").get_json()
        assert "picasso/seconds_per_round" in tags["picasso"]
        assert "epoch_loss" in tags["train"]
        cost = client.get("/data/plugin/scalars/scalars?run=picasso&tag=picasso/"
                          "seconds_per_round").get_json()
        loss = client.get("/data/plugin/scalars/scalars?run=train&tag=epoch_loss"
                          ).get_json()
    assert [s for _, s, _ in cost] == ALL_STEPS
    assert [s for _, s, _ in loss] == list(range(EPOCHS))   # step = epoch, same axis
    assert all(v > 0 for _, _, v in cost)


# -- configuration errors surface before any epoch runs ---------------------------------

def fit_with(callback, epochs=2):
    model = small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = bar_images(16)
    epochs_run = []
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[
        callback, keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: epochs_run.append(epoch))])
    return epochs_run


@pytest.mark.parametrize("kwargs,message", [
    (dict(images=np.zeros((2, 12, 12, 3))), "model expects"),
    (dict(labels=[0, 1, 2]), "labels has shape"),
    (dict(class_names=["a", "b"]), "class_names has 2 names"),
    (dict(target=5), "not a class index"),
    (dict(methods=[GradCAM(layer="missing")]), "'missing' was not found"),
    (dict(methods=[Occlusion(window=40)]), "larger than the image"),
])
def test_bad_configuration_raises_before_training(tmp_path, kwargs, message):
    x, y = bar_images(4)
    args = dict(images=x, labels=y) | kwargs
    epochs_run = []
    with pytest.raises(ValueError, match=message):
        epochs_run = fit_with(PicassoCallback(str(tmp_path), verbose=0, **args))
    assert epochs_run == []
    assert not os.path.exists(tmp_path / "picasso")


@pytest.mark.parametrize("kwargs,message", [
    (dict(methods=["lime"]), "unknown method 'lime'"),
    (dict(every_n_epochs=0), "every_n_epochs must be a positive integer"),
    (dict(target="label", labels=None), "needs labels"),
    (dict(class_names="abc"), "class_names must be a list"),
    (dict(methods=["saliency", "saliency"]), "duplicates"),
    (dict(log_dir=None), "log_dir must be a directory"),
])
def test_bad_arguments_raise_at_construction(tmp_path, kwargs, message):
    x, y = bar_images(4)
    args = dict(log_dir=str(tmp_path), images=x, labels=y) | kwargs
    with pytest.raises(ValueError, match=message):
        PicassoCallback(**args)


def test_write_failure_warns_once_and_training_goes_on(tmp_path):
    (tmp_path / "picasso").write_text("a file where the run directory should be")
    x, y = bar_images(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochs_run = fit_with(PicassoCallback(str(tmp_path), x, y, verbose=0), epochs=3)
    assert epochs_run == [0, 1, 2]
    picasso = [w for w in caught if "Picasso" in str(w.message)]
    assert len(picasso) == 1 and "could not write" in str(picasso[0].message)


def test_every_n_batches_logs_at_optimizer_iterations(tmp_path):
    x, y = bar_images(4)
    fit_with(PicassoCallback(str(tmp_path), x, y, methods=["saliency"], every_n_batches=1,
                             verbose=0), epochs=2)   # 16 images / 32 = 1 batch per epoch
    with tensorboard_wsgi(tmp_path, "false") as client:
        steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
    assert steps == {"saliency": [-1, 1, 2]}


def test_probe_set_from_dataset_takes_labels_and_caps_images(tmp_path):
    x, y = bar_images(40)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    callback = PicassoCallback(str(tmp_path), dataset, max_images=12, verbose=0,
                               methods=["saliency"], target="label")
    fit_with(callback, epochs=1)
    assert callback.logger.images.shape == (12, 16, 16, 3)
    np.testing.assert_array_equal(callback.logger.labels, y[:12])


def test_custom_training_loop_logger(tmp_path):
    model = small_cnn(classes=3)
    x, y = bar_images(6)
    logger = ExplanationLogger(str(tmp_path), model, x, labels=y, methods=["gradcam"],
                               target="top2")
    optimizer = keras.optimizers.SGD(0.1)
    for step in range(3):
        with tf.GradientTape() as tape:
            loss = keras.losses.sparse_categorical_crossentropy(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        assert logger.log(step * 10) > 0
    logger.close()
    log_explanations(str(tmp_path / "once"), model, x, step=7, methods=["saliency"])
    with tensorboard_wsgi(tmp_path, "false") as client:
        index = client.get("/data/plugin/picasso/index").get_json()
        steps, _ = index_steps(index)
        assert steps == {"gradcam": [0, 10, 20]}
        assert index_steps(index, "once/picasso")[0] == {"saliency": [7]}
        header = client.get("/data/plugin/picasso/maps?run=picasso&method=gradcam&step=10"
                            ).get_json()
        assert len(header["targets"][0]) == 2


def test_nan_model_mid_training_skips_round_with_warning(tmp_path):
    x, y = bar_images(4)
    callback = PicassoCallback(str(tmp_path), x, y, methods=["saliency"], verbose=0)
    model = small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")

    def poison(epoch, logs):
        if epoch == 0:
            head = model.get_layer("head")
            head.set_weights([np.full_like(w, np.nan) for w in head.get_weights()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=2, verbose=0, callbacks=[
            keras.callbacks.LambdaCallback(on_epoch_end=poison), callback])
    assert any("not logged" in str(w.message) for w in caught)


def test_tf_summary_style_ops_write_what_the_plugin_reads(tmp_path):
    from tensorboard_picasso import summary
    from tensorboard_picasso.methods import IntegratedGradients

    model = small_cnn(classes=3)
    x, y = bar_images(3)
    explanation = IntegratedGradients(steps=8).explain(model, x)
    writer = tf.summary.create_file_writer(str(tmp_path / "picasso"))
    with writer.as_default():
        assert summary.probe_images(x, y, CLASS_NAMES, step=0)
        assert summary.explanation(explanation, step=0)            # registered: signed
        assert summary.occlusion(explanation.maps, explanation.targets, step=0)
        assert summary.probabilities([[0, 1]] * 3, [[0.6, 0.3]] * 3, step=0)
    writer.close()
    assert not summary.saliency(explanation.maps, explanation.targets, step=0)  # no writer
    with tensorboard_wsgi(tmp_path, "false") as client:
        _, entry = index_steps(client.get("/data/plugin/picasso/index").get_json())
        signed = {m["method"]: m["signed"] for m in entry["methods"]}
        assert signed == {"integrated_gradients": True, "occlusion": True}
        body = client.get("/data/plugin/picasso/map?run=picasso&method="
                          "integrated_gradients&step=0&image=2").get_json()
    truth = explanation.maps[2, 0]
    assert np.abs(decode(body) - truth).max() <= 1e-4 * (truth.max() - truth.min())
