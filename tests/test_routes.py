"""Every HTTP route of the plugin, over logs written by the real callback, in-process."""

import base64
import json
import shutil

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.logger import log_explanations
from tensorboard_picasso.summary.pb import record_pb

from conftest import CLASS_NAMES, EPOCHS, PROBE_COUNT
from models import small_cnn
from tensorboard_harness import tensorboard_wsgi

SCRIPT_RUN = "<script>alert(1)</script>"
BASE = "/data/plugin/picasso/"


@pytest.fixture(scope="module")
def client(trained_logs, tmp_path_factory):
    root = tmp_path_factory.mktemp("routes")
    shutil.copytree(trained_logs[0], root / "main")
    _, probes, labels = trained_logs[:3]
    log_explanations(str(root / SCRIPT_RUN), small_cnn(classes=3), probes, step=0,
                     labels=labels, class_names=CLASS_NAMES, methods=["saliency"])
    future = EventFileWriter(str(root / "future" / "picasso"))   # a newer format version
    summary = record_pb(("probes", b'{"version": 99, "kind": "probes"}', [b"{}"]))
    future.add_event(event_pb2.Event(step=0, summary=summary, wall_time=1.0))
    future.close()
    with tensorboard_wsgi(root, "false") as c:
        yield c


def get(client, path):
    response = client.get(BASE + path)
    return response.status_code, response


def test_index_lists_runs_methods_steps_and_errors_per_run(client):
    status, response = get(client, "index")
    assert status == 200 and response.mimetype == "application/json"
    runs = {r["run"]: r for r in response.get_json()["runs"]}
    assert set(runs) == {"main/picasso", f"{SCRIPT_RUN}/picasso", "future/picasso"}
    assert "version" in runs["future/picasso"]["error"]
    main = runs["main/picasso"]
    assert [m["method"] for m in main["methods"]] == ["gradcam", "occlusion", "saliency"]
    assert {m["method"]: m["signed"] for m in main["methods"]}["occlusion"] is True
    assert main["class_names"] == CLASS_NAMES
    assert len(main["probes"]) == PROBE_COUNT and len(main["probes"][0]["hash"]) == 16


def test_map_header_predictions_probe(client):
    status, response = get(client, "maps?run=main/picasso&method=occlusion&step=2")
    header = response.get_json()
    assert status == 200 and len(header["targets"]) == PROBE_COUNT
    assert header["target_names"][0][0] in CLASS_NAMES and header["seconds"] > 0
    status, response = get(client, "map?run=main/picasso&method=gradcam&step=-1&image=4")
    body = response.get_json()
    values = np.frombuffer(base64.b64decode(body["data"]), "<f4")
    assert status == 200 and values.shape == (16 * 16,)
    assert values.min() == pytest.approx(body["min"]) and body["max"] >= body["min"]
    status, response = get(client, "mapset?run=main/picasso&method=gradcam&step=-1")
    column = response.get_json()
    assert status == 200 and len(column["maps"]) == PROBE_COUNT
    assert column["maps"][4] == {k: body[k] for k in column["maps"][4]}   # same as `map`
    status, response = get(client, f"predictions?run=main/picasso&step={EPOCHS - 1}")
    top = response.get_json()["images"][0]["top"]
    assert status == 200 and len(top) == 3 and top[0]["prob"] >= top[1]["prob"]
    assert top[0]["name"] == CLASS_NAMES[top[0]["class"]]
    status, response = get(client, "probe?run=main/picasso&image=0")
    assert status == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")


@pytest.mark.parametrize("path,code,message", [
    ("map?run=nope/picasso&method=occlusion&step=0&image=0", 404, "no Picasso run"),
    ("map?run=main/picasso&method=lime&step=0&image=0", 404, "no Picasso series 'map/lime'"),
    ("map?run=main/picasso&method=occlusion&step=99&image=0", 404, "has no step 99"),
    ("map?run=main/picasso&method=occlusion&step=x&image=0", 400, "'step' must be an int"),
    ("map?run=main/picasso&method=occlusion&step=0&image=9", 404, "image=9 is out of"),
    ("map?run=main/picasso&method=occlusion&step=0&image=0&target=3", 404, "target=3"),
    ("map?run=main/picasso&method=occlusion&step=0", 400, "missing query parameter 'image'"),
    ("maps?method=occlusion&step=0", 400, "missing query parameter 'run'"),
    ("mapset?run=main/picasso&method=occlusion&step=0&target=1", 404, "target=1"),
    ("mapset?run=main/picasso&method=occlusion", 400, "missing query parameter 'step'"),
    ("metrics?run=main/picasso", 400, "missing query parameter 'method'"),
    ("predictions?run=main/picasso&step=-7", 404, "has no step -7"),
    ("probe?run=main/picasso&image=-1", 404, "out of range"),
    ("probe?run=ghost&image=0", 404, "no Picasso run 'ghost'"),
    ("maps?run=future/picasso&method=occlusion&step=0", 404, "no Picasso series"),
])
def test_bad_requests_get_4xx_json(client, path, code, message):
    status, response = get(client, path)
    assert status == code and response.mimetype == "application/json"
    assert message in response.get_json()["error"]


@pytest.mark.parametrize("path", [
    "static/../plugin.py", "static/%2e%2e/plugin.py", "static/..%2fplugin.py",
    "static/%2e%2e%2fplugin.py", "static/..%5cplugin.py", "static/index.js%00.py",
    "static/", "static/.hidden.js", "static/INDEX.JS", "static/../../../../etc/passwd",
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


def test_names_with_markup_are_data_not_markup(client):
    status, response = get(client, "index")
    raw = response.data.decode()
    assert SCRIPT_RUN in json.loads(raw)["runs"][0]["run"] + json.loads(raw)["runs"][1]["run"]
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    encoded = SCRIPT_RUN.replace("<", "%3C").replace(">", "%3E")
    status, response = get(client, f"map?run={encoded}/picasso&method=saliency&step=0"
                                   "&image=0")
    assert status == 200 and response.get_json()["target_name"] in CLASS_NAMES
    status, response = get(client, "map?run=%3Cb%3E&method=x&step=0&image=0")
    assert status == 404 and response.mimetype == "application/json"
