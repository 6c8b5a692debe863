"""Every HTTP route of the plugin (docs/http_api.md), in-process with TensorBoard's Python
loader, over logs of the real callback and a run of known maps written by the TF-free
builders; every answer is compared with independently computed expectations."""

import gzip
import json
import shutil

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.logger import log_explanations
from tensorboard_picasso.methods import GradCAM, Occlusion, Saliency
from tensorboard_picasso.summary import pb

from conftest import CLASS_NAMES, EPOCHS, PROBE_COUNT
from models import small_cnn
from tensorboard_harness import close_to, decode_block, tensorboard_wsgi

SCRIPT_RUN = "<script>alert(1)</script>"
BASE = "/data/plugin/picasso/"
KNOWN_NAMES = ["cat", "dog", "tank"]
KNOWN_TARGETS = [[2], [0, 1], [1]]
KNOWN_MAPS = [np.random.default_rng(i).normal(size=(len(t), 6, 5)) * (i + 1)
              for i, t in enumerate(KNOWN_TARGETS)]
KNOWN_WALL_TIME = 1234.5


def write_known_run(directory):
    """Probes, ragged maps at steps 0 and 1 (the second scaled by 2), predictions."""
    writer = EventFileWriter(str(directory))
    images = np.random.default_rng(9).random((3, 6, 5, 3))
    summaries = [(0, pb.probes_pb(images, [2, 0, 1], KNOWN_NAMES))]
    for step in (0, 1):
        summaries.append((step, pb.explanation_pb(
            "lime", [m * (step + 1) for m in KNOWN_MAPS], KNOWN_TARGETS, signed=True,
            seconds=0.5, epoch=step, metrics={"drift_previous": [None, 0.5, 0.9]})))
    summaries.append((1, pb.probabilities_pb([[2, 1], [0, 2], [1, 0]],
                                             [[0.7, 0.2], [0.5, 0.4], [0.9, 0.1]],
                                             constant_output=True)))
    for step, summary in summaries:
        writer.add_event(event_pb2.Event(step=step, summary=summary,
                                         wall_time=KNOWN_WALL_TIME))
    writer.close()


@pytest.fixture(scope="module")
def client(trained_logs, tmp_path_factory):
    root = tmp_path_factory.mktemp("routes")
    shutil.copytree(trained_logs[0], root / "main")
    _, probes, labels = trained_logs[:3]
    log_explanations(str(root / SCRIPT_RUN), small_cnn(classes=3), probes, step=0,
                     labels=labels, class_names=CLASS_NAMES, methods=["saliency"])
    future = EventFileWriter(str(root / "future" / "picasso"))   # a newer format version
    summary = pb.record_pb(("probes", b'{"version": 99, "kind": "probes"}', [b"{}"]))
    future.add_event(event_pb2.Event(step=0, summary=summary, wall_time=1.0))
    future.close()
    write_known_run(root / "known" / "picasso")
    with tensorboard_wsgi(root, "false") as c:
        yield c


def get(client, path):
    response = client.get(BASE + path)
    return response.status_code, response


def test_index_lists_runs_methods_versions_and_errors_per_run(client):
    status, response = get(client, "index")
    assert status == 200 and response.mimetype == "application/json"
    runs = {r["run"]: r for r in response.get_json()["runs"]}
    assert set(runs) == {"main/picasso", f"{SCRIPT_RUN}/picasso", "future/picasso",
                         "known/picasso"}
    assert "version 99" in runs["future/picasso"]["error"]
    assert runs["future/picasso"]["methods"] == []
    main = runs["main/picasso"]
    assert main["error"] is None
    assert [m["method"] for m in main["methods"]] == ["gradcam", "occlusion", "saliency"]
    assert {m["method"]: m["signed"] for m in main["methods"]}["occlusion"] is True
    for method in main["methods"]:
        assert method["steps"] == list(range(-1, EPOCHS))
        assert len(method["versions"]) == EPOCHS + 1
        assert method["versions"] == sorted(method["versions"])
    assert main["last_written"] >= main["methods"][0]["versions"][-1]
    assert main["class_names"] == CLASS_NAMES
    assert len(main["probes"]) == PROBE_COUNT and len(main["probes"][0]["hash"]) == 16
    known = runs["known/picasso"]
    assert known["methods"] == [{"method": "lime", "signed": True, "steps": [0, 1],
                                 "versions": [KNOWN_WALL_TIME] * 2}]
    assert known["prediction_steps"] == [1]
    assert known["prediction_versions"] == [KNOWN_WALL_TIME]
    assert [p["label_name"] for p in known["probes"]] == ["tank", "cat", "dog"]


def test_block_of_ragged_maps_is_the_stored_maps(client):
    status, response = get(client, "block?run=known/picasso&method=lime&step=1")
    assert status == 200 and response.mimetype == "application/octet-stream"
    header, maps = decode_block(response.data)
    assert header["targets"] == KNOWN_TARGETS and header["constant_output"] is False
    assert header["epoch"] == 1 and header["metrics"]["drift_previous"] == [None, 0.5, 0.9]
    for decoded, truth, quantiles in zip(maps, KNOWN_MAPS, header["abs_quantiles"]):
        assert close_to(decoded, truth * 2)
        assert [q[-1] for q in quantiles] == pytest.approx(
            np.abs(truth * 2).max(axis=(1, 2)), rel=1e-6)   # level 100: max |v|


def expected_maps(trained_logs, step):
    """What the methods compute for the checkpoint saved after epoch `step`."""
    _, probes, _, build, weights = trained_logs
    model = build()
    model.load_weights(weights(step))
    return {m.name: m.explain(model, probes) for m in (Occlusion(), Saliency(), GradCAM())}


def test_block_of_the_callbacks_maps_equals_the_methods_recomputed(client, trained_logs):
    step = 3
    for method, explanation in expected_maps(trained_logs, step).items():
        status, response = get(client,
                               f"block?run=main/picasso&method={method}&step={step}")
        assert status == 200
        header, maps = decode_block(response.data)
        assert header["targets"] == explanation.targets.tolist()
        assert close_to(np.stack(maps), explanation.maps), method


def test_series_of_one_method(client):
    status, response = get(client, "series?run=known/picasso&method=lime")
    body = response.get_json()
    assert status == 200 and body["signed"] is True
    assert body["steps"] == [0, 1] and body["versions"] == [KNOWN_WALL_TIME] * 2
    assert body["classes"] == [KNOWN_TARGETS] * 2
    assert body["quantile_levels"] == [90, 95, 98, 99, 99.5, 99.9, 100]
    for step, scale in enumerate((1, 2)):
        for image, truth in enumerate(KNOWN_MAPS):
            for j, mapped in enumerate(truth * scale):
                assert body["ranges"][step][image][j] == pytest.approx(
                    [mapped.min(), mapped.max()], rel=1e-6)
                assert body["abs_quantiles"][step][image][j] == pytest.approx(
                    np.percentile(np.abs(mapped), [90, 95, 98, 99, 99.5, 99.9, 100]),
                    rel=1e-5)
    assert body["constant_output"] == [False, False] and body["seconds"] == [0.5, 0.5]
    drift = body["metrics"]["drift_previous"]
    assert drift == {"images": [[None, 0.5, 0.9]] * 2, "mean": [0.7, 0.7]}
    assert body["verdicts"]["directions"] == {"drift_previous": "higher"}
    compressed = client.get(BASE + "series?run=known/picasso&method=lime",
                            headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(compressed.data)) == body


def test_series_metrics_and_sanity_verdict_of_the_callbacks_logs(client):
    status, response = get(client, "series?run=main/picasso&method=saliency")
    body = response.get_json()
    assert status == 200 and body["steps"] == list(range(-1, EPOCHS))
    assert all(len(classes) == PROBE_COUNT for classes in body["classes"])
    untrained = body["metrics"]["drift_untrained"]
    for images, mean in zip(untrained["images"], untrained["mean"]):
        present = [v for v in images or [] if v is not None]
        assert mean == (pytest.approx(sum(present) / len(present)) if present else None)
    latest = next(m for m in reversed(untrained["mean"]) if m is not None)
    assert body["verdicts"]["sanity"] == {"threshold": 0.8,
                                          "latest_drift_untrained": latest,
                                          "flagged": latest >= 0.8}
    assert body["verdicts"]["directions"]["deletion_auc"] == "lower"


def test_predictions_and_probe(client):
    status, response = get(client, f"predictions?run=main/picasso&step={EPOCHS - 1}")
    body = response.get_json()
    top = body["images"][0]["top"]
    assert status == 200 and len(top) == 3 and top[0]["prob"] >= top[1]["prob"]
    assert top[0]["name"] == CLASS_NAMES[top[0]["class"]]
    assert body["constant_output"] is False
    status, response = get(client, "predictions?run=known/picasso&step=1")
    assert response.get_json() == {"step": 1, "constant_output": True, "images": [
        {"top": [{"class": 2, "name": "tank", "prob": 0.7},
                 {"class": 1, "name": "dog", "prob": 0.2}]},
        {"top": [{"class": 0, "name": "cat", "prob": 0.5},
                 {"class": 2, "name": "tank", "prob": 0.4}]},
        {"top": [{"class": 1, "name": "dog", "prob": 0.9},
                 {"class": 0, "name": "cat", "prob": 0.1}]}]}
    status, response = get(client, "probe?run=main/picasso&image=0")
    assert status == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("path,code,message", [
    ("block?run=nope/picasso&method=occlusion&step=0", 404, "no Picasso run"),
    ("block?run=main/picasso&method=lime&step=0", 404, "no Picasso series 'map/lime'"),
    ("block?run=main/picasso&method=occlusion&step=99", 404, "has no step 99"),
    ("block?run=main/picasso&method=occlusion", 400, "missing query parameter 'step'"),
    ("series?run=main/picasso", 400, "missing query parameter 'method'"),
    ("series?run=main/picasso&method=lime", 404, "no Picasso series 'map/lime'"),
    ("block?run=main/picasso&method=occlusion&step=x", 400, "'step' must be an int"),
    ("predictions?step=0", 400, "missing query parameter 'run'"),
    ("probe?run=main/picasso&image=9", 404, "out of range"),
    ("predictions?run=main/picasso&step=-7", 404, "has no step -7"),
    ("probe?run=main/picasso&image=-1", 404, "out of range"),
    ("probe?run=ghost&image=0", 404, "no Picasso run 'ghost'"),
    ("block?run=future/picasso&method=occlusion&step=0", 404, "no Picasso series"),
    ("predictions?run=future/picasso&step=0", 404, "no Picasso series"),
])
def test_bad_requests_get_4xx_json(client, path, code, message):
    status, response = get(client, path)
    assert status == code and response.mimetype == "application/json"
    assert message in response.get_json()["error"]


@pytest.mark.parametrize("step", [
    "1_0", "+1", "%201%20", "1%20", "%EF%BC%91",   # full-width 1
    "%D9%A1",                                        # Arabic-Indic 1
    "1.0", "0x1", "12345678901", "--1", "", "1%0A",
])
def test_integer_parameters_are_ascii_decimal_only(client, step):
    """Issue 13 row 11: int() accepts all of these; the API does not."""
    for route in ("block?run=main/picasso&method=occlusion&step=",
                  "predictions?run=main/picasso&step=",
                  "probe?run=main/picasso&image="):
        status, response = get(client, route + step)
        assert status == 400, (route, step)
        assert "ASCII decimal" in response.get_json()["error"]


def test_integer_parameters_accept_negative_and_ten_digits(client):
    assert get(client, "predictions?run=main/picasso&step=-1")[0] == 200
    status, response = get(client, "predictions?run=main/picasso&step=1234567890")
    assert status == 404 and "has no step 1234567890" in response.get_json()["error"]


@pytest.mark.parametrize("path", [
    "static/../plugin.py", "static/%2e%2e/plugin.py", "static/..%2fplugin.py",
    "static/%2e%2e%2fplugin.py", "static/..%5cplugin.py", "static/index.js%00.py",
    "static/", "static/.hidden.js", "static/INDEX.JS", "static/../../../../etc/passwd",
    "static/nothing.json", "static/index.js%0A",
])
def test_static_serves_nothing_outside_the_allowlist(client, path):
    status, response = get(client, path)
    assert status == 404
    assert b"import" not in response.data and b"root:" not in response.data


def test_static_files_are_served_with_security_headers(client):
    status, response = get(client, "static/index.js")
    assert status == 200 and response.mimetype == "text/javascript"
    assert b"export" in response.data
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert get(client, "static/style.css")[1].mimetype == "text/css"
    status, response = get(client, "static/nothing.json")
    assert status == 404 and "no static file" in response.get_json()["error"]


def test_names_with_markup_are_data_not_markup(client):
    status, response = get(client, "index")
    runs = [r["run"] for r in json.loads(response.data)["runs"]]
    assert f"{SCRIPT_RUN}/picasso" in runs
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    encoded = SCRIPT_RUN.replace("<", "%3C").replace(">", "%3E")
    status, response = get(client, f"series?run={encoded}/picasso&method=saliency")
    assert status == 200 and response.get_json()["run"] == f"{SCRIPT_RUN}/picasso"
    status, response = get(client, "block?run=%3Cb%3E&method=x&step=0")
    assert status == 404 and response.mimetype == "application/json"
