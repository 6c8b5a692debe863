"""The explanation methods against closed-form answers on real Keras models."""

import numpy as np
import pytest
import keras

from tensorboard_picasso.methods import (
    ExplanationMethod, GradCAM, IntegratedGradients, Occlusion, Saliency, SmoothGrad,
    available_methods, class_probabilities, get_method, register_method, unregister_method)
from tensorboard_picasso.methods.context import ProbeSet, RoundContext, forward
from tensorboard_picasso.methods.model import ExplainableModel

from models import linear_logits_model, small_cnn, softmax


def images(n=3, shape=(8, 8, 3), seed=1):
    return np.random.default_rng(seed).random((n,) + shape).astype("float32")


def occlusion_reference(w, b, x, target, window, stride, fill, score=softmax):
    """Occlusion by its definition, window by window, on the numpy linear model."""
    h, wd = x.shape[:2]
    p = score(x.reshape(-1) @ w + b)[target]
    total, count = np.zeros((h, wd)), np.zeros((h, wd))
    starts = lambda side: sorted(set(list(range(0, side - window + 1, stride))
                                     + [side - window]))
    for r in starts(h):
        for c in starts(wd):
            xo = x.copy()
            xo[r:r + window, c:c + window] = fill
            drop = p - score(xo.reshape(-1) @ w + b)[target]
            total[r:r + window, c:c + window] += drop
            count[r:r + window, c:c + window] += 1
    return total / count


@pytest.mark.parametrize("window,stride", [(3, 2), (4, 4), (8, 8)])
def test_occlusion_matches_definition_on_linear_model(window, stride):
    model, w, b = linear_logits_model()
    x = images()
    explanation = Occlusion(window=window, stride=stride, fill="grey",
                            batch_size=7).explain(model, x, target="top2")
    for i in range(len(x)):
        for t in range(2):
            expected = occlusion_reference(w, b, x[i], explanation.targets[i, t], window,
                                           stride, 0.5)
            np.testing.assert_allclose(explanation.maps[i, t], expected, atol=2e-6)


def test_occlusion_logit_drop_matches_definition():
    model, w, b = linear_logits_model()
    x = images(2)
    explanation = Occlusion(window=4, stride=2, score="logit").explain(model, x)
    for i in range(2):
        expected = occlusion_reference(w, b, x[i], explanation.targets[i, 0], 4, 2, 0.5,
                                       score=lambda z: z)
        np.testing.assert_allclose(explanation.maps[i, 0], expected, atol=2e-5)


def test_saturated_softmax_model_still_has_logit_occlusion_maps():
    model, w, b = linear_logits_model(seed=2)
    model.layers[-1].set_weights([w * 20, b])     # margins 30-57: p rounds to 1.0
    probs = keras.Sequential([model, keras.layers.Softmax()])
    x = images(4)[[0, 2, 3]]
    assert (probs.predict(x, verbose=0).max(axis=1) == 1.0).all()
    flat = np.abs(Occlusion(window=4).explain(probs, x).maps).max(axis=(1, 2, 3))
    logits = np.abs(Occlusion(window=4, score="logit").explain(probs, x).maps
                    ).max(axis=(1, 2, 3))
    assert (flat == 0).any()                        # blank probability-drop maps ...
    assert (logits[flat == 0] > 0).all()            # ... have logit-drop maps


def test_occlusion_seed_default_two_positions_per_axis():
    model, w, b = linear_logits_model()
    method = Occlusion(window=0.5, stride=0.5, fill="black")
    explainable = ExplainableModel(model)
    context = RoundContext(explainable, ProbeSet.create(explainable, images(1)))
    grid, _, _ = method.drops(explainable, context, np.array([0]), np.array([0]))
    assert grid.shape == (1, 2, 2)
    x = images(1)[0]
    expected = occlusion_reference(w, b, x, 0, 4, 4, 0.0)
    np.testing.assert_allclose(method.explain(model, x[None], target=0).maps[0, 0],
                               expected, atol=2e-6)


def test_occlusion_fills_mean_and_blur_differ_and_are_finite():
    model = small_cnn()
    x = images(2, (16, 16, 3))
    maps = {fill: Occlusion(window=4, fill=fill).explain(model, x).maps
            for fill in ("mean", "blur", 0.2)}
    for m in maps.values():
        assert np.isfinite(m).all() and np.abs(m).max() > 0
    assert not np.allclose(maps["mean"], maps["blur"])


def test_saliency_on_linear_model_is_the_weight():
    model, w, _ = linear_logits_model()
    x = images()
    explanation = Saliency(reduction="signed").explain(model, x, target=2)
    expected = w[:, 2].reshape(8, 8, 3).sum(axis=-1)
    for i in range(len(x)):
        np.testing.assert_allclose(explanation.maps[i, 0], expected, rtol=1e-5, atol=1e-6)
    max_abs = Saliency().explain(model, x, target=2).maps[0, 0]
    np.testing.assert_allclose(max_abs, np.abs(w[:, 2].reshape(8, 8, 3)).max(-1), rtol=1e-5)


def test_smoothgrad_of_linear_model_equals_gradient():
    model, w, _ = linear_logits_model()
    maps = SmoothGrad(samples=5, reduction="abs_sum", batch_size=4).explain(
        model, images(), target=1).maps
    expected = np.abs(w[:, 1].reshape(8, 8, 3)).sum(-1)
    np.testing.assert_allclose(maps[1, 0], expected, rtol=1e-5)


def test_smoothgrad_noise_changes_cnn_maps_reproducibly():
    model = small_cnn()
    x = images(2, (16, 16, 3))
    a = SmoothGrad(samples=4, noise=0.3).explain(model, x).maps
    b = SmoothGrad(samples=4, noise=0.3).explain(model, x).maps
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, Saliency().explain(model, x).maps)


def test_integrated_gradients_linear_model_is_exact():
    model, w, b = linear_logits_model()
    x = images()
    ig = IntegratedGradients(baseline=0.25, steps=8)
    explainable = ExplainableModel(model)
    context = RoundContext(explainable, ProbeSet.create(explainable, x))
    attributions = ig.attributions(explainable, context, np.arange(3), np.full(3, 3))
    np.testing.assert_allclose(attributions, (x - 0.25) * w[:, 3].reshape(8, 8, 3),
                               rtol=1e-4, atol=1e-6)


def test_integrated_gradients_completeness_on_cnn():
    model = small_cnn(activation=None)
    x = images(4, (16, 16, 3), seed=5)
    explanation = IntegratedGradients(steps=64, batch_size=100).explain(model, x)
    logits = model.predict(x, verbose=0)
    baseline_logits = model.predict(np.zeros_like(x), verbose=0)
    c = explanation.targets[:, 0]
    expected = logits[np.arange(4), c] - baseline_logits[np.arange(4), c]
    got = explanation.maps.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(got, expected, rtol=0.01, atol=1e-3 * np.abs(expected).max())


def test_gradcam_closed_form_on_hand_weighted_conv():
    keras.utils.set_random_seed(3)
    conv = keras.layers.Conv2D(4, 1, use_bias=False, name="features")
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Sequential([keras.Input((6, 6, 3)), conv,
                              keras.layers.GlobalAveragePooling2D(), dense])
    k = np.random.default_rng(0).normal(size=(1, 1, 3, 4)).astype("float32")
    v = np.random.default_rng(1).normal(size=(4, 2)).astype("float32")
    conv.set_weights([k]), dense.set_weights([v])
    x = images(2, (6, 6, 3))
    maps = GradCAM().explain(model, x, target=1).maps
    activation = x @ k[0, 0]                       # (N, 6, 6, 4)
    expected = np.maximum((activation * v[:, 1] / 36).sum(-1), 0)
    np.testing.assert_allclose(maps[:, 0], expected, rtol=1e-4, atol=1e-7)


def nested_backbone_model():
    backbone = keras.applications.MobileNetV2(input_shape=(96, 96, 3), include_top=False,
                                              weights=None)
    inputs = keras.Input((96, 96, 3))
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(features))


def test_gradcam_on_nested_keras_applications_backbone():
    model = nested_backbone_model()
    x = images(2, (96, 96, 3))
    method = GradCAM()
    explanation = method.explain(model, x, target="top2")
    # the feature map entering the head's global pooling: the backbone's last output
    assert [str(p) for p in method._points.values()] == [
        f"{model.layers[2].name}:input"]
    assert explanation.maps.shape == (2, 2, 96, 96)
    assert np.isfinite(explanation.maps).all() and explanation.maps.max() > 0
    named = GradCAM(layer=f"{model.layers[1].name}/block_16_project").explain(model, x)
    assert named.maps.shape == (2, 1, 96, 96)


class SubclassedCNN(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(3)

    def call(self, x):
        return self.head(self.pool(self.conv(x)))


def functional_cnn():
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="c")(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("build", [small_cnn, functional_cnn, SubclassedCNN])
@pytest.mark.parametrize("name", ["occlusion", "saliency", "smoothgrad",
                                  "integrated_gradients", "gradcam"])
def test_every_method_runs_on_every_model_kind(build, name):
    keras.utils.set_random_seed(0)
    model = build()
    maps = get_method(name).explain(model, images(2, (16, 16, 3)), target="top2").maps
    assert maps.shape == (2, 2, 16, 16) and np.isfinite(maps).all()
    assert np.abs(maps).max() > 0


def test_output_kind_detection_and_single_unit_sigmoid():
    x = images(4, (16, 16, 3))
    prepared = ExplainableModel(small_cnn()).prepare(x.astype("float64"))
    assert prepared.dtype == np.float32 and np.array_equal(prepared, x)
    probs_model = ExplainableModel(small_cnn())
    probs_model.prepare(x)
    assert probs_model.outputs_probabilities
    logit_model = ExplainableModel(small_cnn(activation=None))
    logit_model.prepare(x)
    assert not logit_model.outputs_probabilities
    sigmoid = ExplainableModel(small_cnn(classes=1, activation="sigmoid"))
    sigmoid.prepare(x)
    p = forward(sigmoid, x)[1]
    raw = sigmoid.keras_model.predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(p, np.stack([1 - raw, raw], 1), rtol=1e-5)
    assert sigmoid.num_classes == 2


def test_subclassed_model_output_kind_from_values():
    class Probs(SubclassedCNN):
        def call(self, x):
            return keras.activations.softmax(super().call(x))
    model = ExplainableModel(Probs())
    model.prepare(images(2, (16, 16, 3)))
    assert model.outputs_probabilities
    model = ExplainableModel(SubclassedCNN())
    keras.utils.set_random_seed(1)
    model.prepare(images(2, (16, 16, 3)) * 50)
    assert not model.outputs_probabilities


def test_targets_label_fixed_and_topk():
    model = small_cnn()
    x = images(3, (16, 16, 3))
    probs = model.predict(x, verbose=0)
    assert (Saliency().explain(model, x, target="label", labels=[2, 0, 1]).targets[:, 0]
            == [2, 0, 1]).all()
    top3 = Saliency().explain(model, x, target="top3").targets
    np.testing.assert_array_equal(top3, np.argsort(-probs, axis=1)[:, :3])
    assert (Saliency().explain(model, x).targets[:, 0] == probs.argmax(1)).all()


def test_class_probabilities_top_k():
    model = small_cnn()
    x = images(3, (16, 16, 3))
    top = class_probabilities(model, x, k=2)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(top.probabilities, np.sort(probs, 1)[:, ::-1][:, :2],
                               rtol=1e-5)
    assert top.names(["a", "b", "c"])[0][0] == "abc"[top.classes[0, 0]]


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_class_probabilities_refuses_a_k_that_is_not_a_count(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        class_probabilities(small_cnn(), images(1, (16, 16, 3)), k=k)


def test_class_probabilities_k_above_the_classes_gives_all_of_them():
    top = class_probabilities(small_cnn(), images(2, (16, 16, 3)), k=10)
    assert top.classes.shape == (2, 3)
    np.testing.assert_allclose(top.probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_registered_user_function_is_a_method():
    def brightness(model, images, targets):
        return np.repeat(images.mean(-1)[:, None], targets.shape[1], axis=1)
    register_method("mean_brightness", brightness)
    try:
        assert "mean_brightness" in available_methods()
        x = images(2, (16, 16, 3))
        maps = get_method("mean_brightness").explain(small_cnn(), x, target="top2").maps
        np.testing.assert_allclose(maps[:, 1], x.mean(-1))
    finally:
        unregister_method("mean_brightness")
    assert "mean_brightness" not in available_methods()


def test_registered_class_must_match_its_name():
    class Mine(ExplanationMethod):
        name = "mine"

        def compute(self, model, images, targets):
            return np.zeros(targets.shape + images.shape[1:3])
    with pytest.raises(ValueError, match="register it under that name"):
        register_method("other", Mine)


# -- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad,message", [
    (np.zeros((16, 16, 3)), "4-D"),
    (np.zeros((2, 16, 16)), r"grey images \(N, H, W\) but the model takes 3 channels"),
    (np.array([["a"]]), "numeric"),
    (np.zeros((2, 12, 16, 3)), "expects"),
    ([np.zeros((16, 16, 3)), np.zeros((12, 12, 3))], "mixed sizes"),
    (np.zeros((0, 16, 16, 3)), "empty"),
    (np.full((1, 16, 16, 3), np.nan), "NaN"),
])
def test_bad_images_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        Saliency().explain(small_cnn(), bad)


@pytest.mark.parametrize("kwargs,message", [
    (dict(window=17), "larger than the image"),
    (dict(window=4, stride=0), "stride must be positive"),
    (dict(window=4, stride=-2), "stride must be positive"),
    (dict(window=1.5), "fraction must lie in"),
])
def test_bad_occlusion_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Occlusion(**kwargs).explain(small_cnn(), images(1, (16, 16, 3)))


def test_bad_fill_and_reduction_and_steps():
    with pytest.raises(ValueError, match="fill must be"):
        Occlusion(fill="purple")
    with pytest.raises(ValueError, match="reduction must be"):
        Saliency(reduction="median")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        IntegratedGradients(steps=0)


def test_unknown_method_lists_known_ones():
    with pytest.raises(ValueError, match="unknown method 'lime'.*occlusion"):
        get_method("lime")


def test_gradcam_unknown_layer_lists_candidates():
    with pytest.raises(ValueError, match=r"'nope' was not found.*conv2"):
        GradCAM(layer="nope").explain(small_cnn(), images(1, (16, 16, 3)))
    with pytest.raises(ValueError, match="not 4-D"):
        GradCAM(layer="head").explain(small_cnn(), images(1, (16, 16, 3)))


def test_multi_output_model_asks_for_output():
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(3, name="cls")(h),
                                 keras.layers.Dense(1, name="box")(h)])
    with pytest.raises(ValueError, match="pass output=<index or name>"):
        Saliency().explain(model, images(1, (16, 16, 3)))
    maps = Saliency().explain(model, images(1, (16, 16, 3)), output="cls").maps
    assert maps.shape == (1, 1, 16, 16)


def test_model_returning_nan_is_reported():
    model = small_cnn()
    model.layers[-1].set_weights([np.full((8, 3), np.nan, "float32"),
                                  np.zeros(3, "float32")])
    with pytest.raises(ValueError, match="model output contains NaN"):
        Occlusion().explain(model, images(1, (16, 16, 3)))


def test_bad_targets():
    with pytest.raises(ValueError, match="needs labels"):
        Saliency().explain(small_cnn(), images(1, (16, 16, 3)), target="label")
    with pytest.raises(ValueError, match="not a class index"):
        Saliency().explain(small_cnn(), images(1, (16, 16, 3)), target=7)
    with pytest.raises(ValueError, match="labels has shape"):
        Saliency().explain(small_cnn(), images(2, (16, 16, 3)), target="label", labels=[1])


@pytest.mark.parametrize("head", ["dense_softmax", "softmax_layer"])
def test_softmax_models_are_explained_through_their_logits(head):
    logits_model = small_cnn(activation=None)
    if head == "dense_softmax":
        probs_model = small_cnn(activation="softmax")
        probs_model.set_weights(logits_model.get_weights())
    else:
        probs_model = keras.Sequential([logits_model, keras.layers.Softmax()])
    x = images(3, (16, 16, 3))
    expected = Saliency(reduction="signed").explain(logits_model, x, target=1).maps
    got = Saliency(reduction="signed").explain(probs_model, x, target=1).maps
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    probs = probs_model.predict(x, verbose=0)     # the head's activation is restored
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
