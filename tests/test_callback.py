"""The callback during a real model.fit, read back by real TensorBoard (both loaders)."""

import os
import urllib.request
import warnings

import numpy as np
import pytest
import tensorflow as tf
import keras

from tensorboard_picasso import PicassoCallback
from tensorboard_picasso.logger import ExplanationLogger, log_explanations
from tensorboard_picasso.methods import GradCAM, Occlusion, Saliency

from conftest import CLASS_NAMES, EPOCHS, PROBE_COUNT, bar_images
from models import small_cnn
from tensorboard_harness import (close_to, decode_block, get_json, tensorboard_process,
                                 tensorboard_wsgi)

ALL_STEPS = list(range(-1, EPOCHS))
BLOCK = "/data/plugin/picasso/block?run={run}&method={method}&step={step}"


def expected_maps(trained_logs, step):
    """What the methods compute for the checkpoint saved at `step` (an epoch)."""
    _, probes, _, build, weights = trained_logs
    model = build()
    model.load_weights(weights(step))
    return {m.name: m.explain(model, probes) for m in (Occlusion(), Saliency(), GradCAM())}


def block(client, method, step, run="picasso"):
    """(header, maps per image) of a step, through the plugin's `block` route."""
    response = client.get(BLOCK.format(run=run, method=method, step=step))
    assert response.status_code == 200, response.get_data()
    return decode_block(response.data)


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
                url = base + BLOCK.format(run="picasso", method=method, step=step)[1:]
                with urllib.request.urlopen(url, timeout=10) as response:
                    header, maps = decode_block(response.read())
                assert header["targets"] == explanation.targets.tolist()
                assert close_to(np.stack(maps), explanation.maps), (method, step)


def test_python_loader_keeps_every_step_and_probes_once(trained_logs):
    log_dir, probes, labels = trained_logs[:3]
    with tensorboard_wsgi(log_dir, "false") as client:
        index = client.get("/data/plugin/picasso/index").get_json()
        steps, entry = index_steps(index)
        assert steps["occlusion"] == ALL_STEPS
        assert [p["label"] for p in entry["probes"]] == labels.tolist()
        assert entry["probes"][2]["label_name"] == CLASS_NAMES[2]
        expected = expected_maps(trained_logs, 5)["saliency"]
        _, maps = block(client, "saliency", 5)
        assert close_to(np.stack(maps), expected.maps)
    from tensorboard.backend.event_processing import event_accumulator
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir / "picasso"), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    assert len(accumulator.Tensors("probes")) == 1          # written once per run
    assert len(accumulator.Tensors("map/occlusion")) == len(ALL_STEPS)


def test_untrained_model_is_logged_before_training_and_differs(trained_logs):
    with tensorboard_wsgi(trained_logs[0], "false") as client:
        before, after = (block(client, "occlusion", step)[1][0] for step in (-1, EPOCHS - 1))
        assert not np.allclose(before, after)


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

def fit_with(callback, epochs=2, epochs_run=None, model=None):
    """Fits a small CNN with `callback`; appends each finished epoch to `epochs_run`."""
    model = model or small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = bar_images(16)
    epochs_run = [] if epochs_run is None else epochs_run
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[
        callback, keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: epochs_run.append(epoch))])
    return epochs_run


def uint8_cnn():
    inputs = keras.Input((16, 16, 3), dtype="uint8")
    h = keras.layers.Rescaling(1 / 255)(inputs)
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("kwargs,message", [
    (dict(images=np.zeros((2, 12, 12, 3))), "model expects"),
    (dict(labels=[0, 1, 2]), "labels has shape"),
    (dict(labels=np.eye(4)[[0, 1, 2, 0]]), "one-hot rows of 4 columns"),
    (dict(class_names=["a", "b"]), "class_names has 2 names"),
    (dict(target=5), "not a class index"),
    (dict(methods=[GradCAM(layer="missing")]), "'missing' was not found"),
    (dict(methods=[GradCAM(layer="head")]), "'head' exists but its tensor is not 4-D"),
    (dict(methods=[Occlusion(window=40)]), "larger than the image"),
    (dict(masks=np.full((4, 16, 16), 2.0)), r"masks must be boolean or numbers in \[0, 1\]"),
    (dict(images=np.zeros((4, 16, 16))), "grey images"),
    (dict(log_before_training=False, methods=[GradCAM(layer="missing")]),
     "'missing' was not found"),
])
def test_bad_configuration_raises_before_training(tmp_path, kwargs, message):
    x, y = bar_images(4)
    args = dict(images=x, labels=y) | kwargs
    epochs_run = []
    with pytest.raises(ValueError, match=message):
        fit_with(PicassoCallback(tmp_path, verbose=0, **args), epochs_run=epochs_run)
    assert epochs_run == []
    assert not os.path.exists(tmp_path / "picasso")


def test_integer_input_model_refuses_gradient_methods_before_training(tmp_path):
    x, y = bar_images(4)
    pixels = np.round(x * 255)
    epochs_run = []
    with pytest.raises(ValueError, match="saliency needs gradients w.r.t. the input.*"
                                         "integer tensor"):
        fit_with(PicassoCallback(tmp_path, pixels, y, methods=["saliency"], verbose=0),
                 epochs_run=epochs_run, model=uint8_cnn())
    assert epochs_run == []
    callback = PicassoCallback(tmp_path, pixels, y, methods=["occlusion", "gradcam"],
                               budget=None, verbose=0)
    assert fit_with(callback, model=uint8_cnn()) == [0, 1]
    assert callback.logger.lost == 0 and callback.logger.rounds == 3


@pytest.mark.parametrize("kwargs,message", [
    (dict(methods=["lime"]), "unknown method 'lime'"),
    (dict(every_n_epochs=0), "every_n_epochs must be a positive integer"),
    (dict(target="label", labels=None), "needs labels"),
    (dict(class_names="abc"), "class_names must be a list"),
    (dict(methods=["saliency", "saliency"]), "duplicates"),
    (dict(log_dir=None), "log_dir must be a directory"),
    (dict(display_range=(1, 0)), "display_range must be"),
    (dict(display_range=5), "display_range must be a pair"),
    (dict(value_range=(0, 0)), "value_range must be"),
    (dict(budget=0), "budget must be a share"),
    (dict(budget=1.5), "budget must be a share"),
    (dict(memory_limit="lots"), "memory_limit must be"),
    (dict(top_k=0), "top_k must be a positive integer"),
    (dict(faithfulness_every=0), "faithfulness_every must be a positive integer"),
])
def test_bad_arguments_raise_at_construction(tmp_path, kwargs, message):
    x, y = bar_images(4)
    args = dict(log_dir=str(tmp_path), images=x, labels=y) | kwargs
    with pytest.raises(ValueError, match=message):
        PicassoCallback(**args)


def test_write_failure_warns_with_counts_and_training_goes_on(tmp_path, capsys):
    (tmp_path / "picasso").write_text("a file where the run directory should be")
    x, y = bar_images(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochs_run = fit_with(PicassoCallback(tmp_path, x, y, budget=None), epochs=3)
    assert epochs_run == [0, 1, 2]
    picasso = [str(w.message) for w in caught if "Picasso" in str(w.message)]
    assert len(picasso) == 4 and all("could not write" in m for m in picasso)
    assert "4 of 4 rounds lost" in picasso[-1]
    assert "4 rounds lost" in capsys.readouterr().out


def test_every_n_batches_logs_at_optimizer_iterations(tmp_path):
    x, y = bar_images(4)
    fit_with(PicassoCallback(tmp_path, x, y, methods=["saliency"], every_n_batches=1,
                             budget=None, verbose=0), epochs=2)   # 1 batch per epoch
    with tensorboard_wsgi(tmp_path, "false") as client:
        steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
    assert steps == {"saliency": [-1, 1, 2]}


def test_every_n_epochs_still_logs_the_last_epoch(tmp_path):
    x, y = bar_images(4)
    fit_with(PicassoCallback(tmp_path, x, y, methods=["saliency"], every_n_epochs=2,
                             budget=None, verbose=0), epochs=5)
    with tensorboard_wsgi(tmp_path, "false") as client:
        steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
    assert steps == {"saliency": [-1, 1, 3, 4]}


def test_without_the_before_training_round(tmp_path):
    x, y = bar_images(4)
    fit_with(PicassoCallback(tmp_path, x, y, methods=["saliency"], budget=None,
                             log_before_training=False, verbose=0), epochs=2)
    with tensorboard_wsgi(tmp_path, "false") as client:
        steps, _ = index_steps(client.get("/data/plugin/picasso/index").get_json())
    assert steps == {"saliency": [0, 1]}


def test_preprocess_runs_inside_the_model_and_maps_are_wrt_raw_images(tmp_path):
    model = small_cnn(classes=3)
    x, _ = bar_images(3)
    scale = 4.0
    logger = ExplanationLogger(tmp_path, model, x * scale, methods=[Saliency("signed")],
                               preprocess=lambda images: images / scale, metrics=())
    logger.log(0)
    with tensorboard_wsgi(tmp_path, "false") as client:
        _, maps = block(client, "saliency", 0)
    direct = Saliency("signed").explain(model, x)
    # d f(x / s) / d x = f'(x / s) / s
    assert close_to(np.stack(maps), direct.maps / scale)


def test_display_range_sets_the_probe_pngs_black_and_white(tmp_path):
    from PIL import Image
    import io

    model = small_cnn(classes=3)
    x, _ = bar_images(2)
    logger = ExplanationLogger(tmp_path, model, x, methods=["saliency"], metrics=(),
                               display_range=(0.0, 2.0))
    logger.log(0)
    with tensorboard_wsgi(tmp_path, "false") as client:
        png = client.get("/data/plugin/picasso/probe?run=picasso&image=0").data
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    expected = np.round(np.clip(x[0] / 2.0, 0, 1) * 255)
    assert np.abs(pixels.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_probe_set_from_dataset_takes_labels_and_caps_images(tmp_path, batched):
    x, y = bar_images(40)
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    dataset = dataset.batch(8) if batched else dataset
    callback = PicassoCallback(tmp_path, dataset, max_images=12, verbose=0,
                               methods=["saliency"], target="label")
    fit_with(callback, epochs=1)
    assert callback.logger.images.shape == (12, 16, 16, 3)
    np.testing.assert_array_equal(callback.logger.labels, y[:12])


def test_default_target_also_maps_the_true_class_where_the_model_is_wrong(tmp_path):
    model = small_cnn(classes=3)
    x, y = bar_images(6)
    logger = ExplanationLogger(tmp_path, model, x, labels=y, methods=["saliency"],
                               metrics=())
    logger.log(0)
    predicted = model.predict(x, verbose=0).argmax(1)
    with tensorboard_wsgi(tmp_path, "false") as client:
        header, maps = block(client, "saliency", 0)
    expected = [[p] if p == t else [p, t] for p, t in zip(predicted, y)]
    assert header["targets"] == [list(map(int, row)) for row in expected]
    assert any(len(row) == 2 for row in expected)     # some image is predicted wrong
    for image, classes in enumerate(expected):
        truth = Saliency().explain(model, x[image:image + 1], target=int(classes[-1]))
        assert close_to(maps[image][-1:], truth.maps[0])


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
        assert logger.log(step * 10).written
    logger.close()
    log_explanations(str(tmp_path / "once"), model, x, step=7, methods=["saliency"])
    with tensorboard_wsgi(tmp_path, "false") as client:
        index = client.get("/data/plugin/picasso/index").get_json()
        steps, _ = index_steps(index)
        assert steps == {"gradcam": [0, 10, 20]}
        assert index_steps(index, "once/picasso")[0] == {"saliency": [7]}
        header, _ = block(client, "gradcam", 10)
        assert all(len(row) == 2 for row in header["targets"])


def test_nan_model_mid_training_skips_round_with_warning(tmp_path):
    x, y = bar_images(4)
    callback = PicassoCallback(str(tmp_path), x, y, methods=["saliency"], budget=None,
                               verbose=0)
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
        _, maps = block(client, "integrated_gradients", 0)
    assert close_to(np.stack(maps), explanation.maps)
