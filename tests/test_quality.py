"""Explanation quality metrics: drift, faithfulness, shortcut share, logged as scalars."""

import numpy as np
import pytest

from tensorboard_picasso import PicassoCallback
from tensorboard_picasso.methods import ExplanationMethod, ProbeSet, RoundContext, Saliency
from tensorboard_picasso.methods.model import ExplainableModel
from tensorboard_picasso.quality.faithfulness import Faithfulness
from tensorboard_picasso.quality.measures import rank_correlation

from conftest import EPOCHS, bar_images
from models import linear_logits_model
from tensorboard_harness import tensorboard_wsgi


def test_rank_correlation_identity_reverse_and_ties():
    a = np.random.default_rng(0).random((3, 2, 6, 6))
    np.testing.assert_allclose(rank_correlation(a, a), 1.0)
    np.testing.assert_allclose(rank_correlation(a, -a), -1.0)
    np.testing.assert_allclose(rank_correlation(a, a ** 3 + 2), 1.0)   # monotone: same ranks
    tied = np.repeat(np.repeat(a[:, :, :3, :3], 2, axis=2), 2, axis=3)  # blocks of 4 ties
    np.testing.assert_allclose(rank_correlation(tied, tied * 5), 1.0)
    assert np.isnan(rank_correlation(np.ones((1, 4, 4)), a[:1, 0, :4, :4]))[0]
    with pytest.raises(ValueError, match="share one shape"):
        rank_correlation(a, a[:, 0])


def test_trained_vs_fresh_model_drifts_more_than_late_checkpoints(trained_logs):
    _, probes, _, build, weights = trained_logs

    def saliency(epoch=None):
        model = build()
        if epoch is not None:
            model.load_weights(weights(epoch))
        return Saliency().explain(model, probes, target=0).maps
    late = rank_correlation(saliency(EPOCHS - 2), saliency(EPOCHS - 1)).mean()
    fresh = rank_correlation(saliency(None), saliency(EPOCHS - 1)).mean()
    assert late > fresh + 0.2, (late, fresh)


def test_deletion_and_insertion_prefer_the_true_order_on_a_linear_model():
    model, w, b = linear_logits_model(classes=2, seed=4)
    explainable = ExplainableModel(model)
    context = RoundContext(explainable, ProbeSet.create(
        explainable, np.random.default_rng(5).random((6, 8, 8, 3))))
    x = context.images
    classes = np.ones(6, dtype=int)
    contribution = ((x - 0.5) * w[:, 1].reshape(8, 8, 3)).sum(-1)   # exact, fill = 0.5
    random_order = np.random.default_rng(6).random(contribution.shape)
    faithfulness = Faithfulness(steps=16, fill=0.5, batch_size=40)
    true = faithfulness.auc(context, contribution, classes)
    rand = faithfulness.auc(context, random_order, classes)
    assert (true["deletion_auc"] < rand["deletion_auc"]).all()
    assert (true["insertion_auc"] > rand["insertion_auc"]).all()
    with pytest.raises(ValueError, match="fill must be"):
        Faithfulness(fill="purple")


class Brightness(ExplanationMethod):
    """A map that ignores the model: the image's brightness. Whatever the model learns,
    its maps rank pixels exactly like the untrained model's — it must fail the sanity
    check."""

    name = "brightness"

    def compute(self, model, images, targets):
        return np.repeat(images.mean(-1)[:, None], targets.shape[1], axis=1)


def test_quality_scalars_series_route_and_sanity_verdict_on_real_logs(tmp_path):
    import keras
    from models import small_cnn

    x, y = bar_images(48)
    masks = np.zeros((6, 16, 16), bool)
    masks[:, :, :8] = True
    model = small_cnn(classes=3)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0, callbacks=[PicassoCallback(
        str(tmp_path), x[:6], y[:6], methods=["saliency", "gradcam", Brightness()],
        masks=masks, budget=None, verbose=0)])
    with tensorboard_wsgi(tmp_path, "false") as client:
        tags = client.get("/data/plugin/scalars/tags").get_json()["picasso"]
        for method in ("saliency", "gradcam"):
            for metric in ("drift_previous", "drift_untrained", "deletion_auc",
                           "insertion_auc", "shortcut_share"):
                assert f"picasso/{method}/{metric}" in tags
        assert "picasso/quality_seconds_per_round" in tags
        series = {method: client.get(f"/data/plugin/picasso/series?run=picasso&method="
                                     f"{method}").get_json()
                  for method in ("saliency", "brightness")}
        assert client.get("/data/plugin/picasso/series?run=picasso&method=x"
                          ).status_code == 404
    body = series["saliency"]
    assert body["steps"] == [-1, 0, 1, 2]
    drift = body["metrics"]["drift_previous"]
    assert drift["mean"][0] is None and len(drift["images"][1]) == 6
    share = body["metrics"]["shortcut_share"]["images"][-1]
    assert all(0 <= v <= 1 for v in share if v is not None)
    assert body["verdicts"]["directions"]["deletion_auc"] == "lower"
    untrained = body["metrics"]["drift_untrained"]["mean"][-1]
    assert body["verdicts"]["sanity"]["flagged"] is (untrained >= 0.8)
    flat = series["brightness"]
    assert flat["metrics"]["drift_untrained"]["mean"][-1] == pytest.approx(1.0)
    assert flat["verdicts"]["sanity"]["flagged"] is True


@pytest.mark.parametrize("kwargs,message", [
    (dict(metrics=["ssim"]), "unknown metrics"),
    (dict(metrics=["shortcut"]), "needs masks"),
])
def test_bad_metric_settings(tmp_path, kwargs, message):
    x, y = bar_images(4)
    with pytest.raises(ValueError, match=message):
        PicassoCallback(str(tmp_path), x, y, **kwargs)


def test_masks_must_match_probe_images(tmp_path):
    from models import small_cnn

    x, y = bar_images(4)
    model = small_cnn(classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="masks has shape"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[PicassoCallback(
            str(tmp_path), x, y, masks=np.ones((4, 8, 8)), verbose=0)])
