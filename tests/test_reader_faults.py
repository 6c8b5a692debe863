"""What real TensorBoard (both loaders) serves from logs that are rewritten, unreadable
or malformed in ways that pass the event files' checksums (issue 13, rows 1 to 4):
the affected run or request gets a 4xx JSON error naming the problem, everything else
keeps working, and a rewritten step is served in its new version."""

import json
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.summary import codec, layout, pb, records
from tensorboard_harness import get_json, tensorboard_process

LOADERS = ["true", "false"]      # --load_fast: the Rust data server, the Python loader
IMAGES = np.random.default_rng(0).random((2, 4, 4, 3))
MAPS = np.arange(2 * 16, dtype=np.float64).reshape(2, 1, 4, 4)


def write(directory, events):
    """Events [(step, wall time, Summary)] into a new event file of `directory`."""
    writer = EventFileWriter(str(directory))
    for step, wall_time, summary in events:
        writer.add_event(event_pb2.Event(step=step, wall_time=wall_time, summary=summary))
    writer.close()


def round_event(step, maps=MAPS, seconds=1.0, wall_time=1.0, probes=True, scalars=None):
    """One logging round as one Event: probes, saliency maps, predictions, scalars."""
    round_records = ([records.probes_record(IMAGES, [0, 1], ["a", "b"])] if probes else [])
    round_records += [records.map_record("saliency", maps, [[0], [1]], False,
                                         seconds=seconds),
                      records.predictions_record([[0], [1]], [[0.6], [0.7]])]
    return step, wall_time, pb.round_summary(round_records, scalars or {})


def blob_step(tag, kind, blobs, step=0, version=2, **meta):
    """A hand-made step of a series: per-series metadata and blobs as given."""
    content = json.dumps({"version": version, "kind": kind, **meta}).encode()
    return step, 1.0, pb.record_pb((tag, content, blobs))


def v2_header(**changes):
    header = {"version": 2, "method": "m", "params": {}, "targets": [[0], [1]],
              "ranges": [[[0.0, 1.0]], [[0.0, 1.0]]], "abs_quantiles": [[[1.0] * 7]] * 2,
              "height": 4, "width": 4, "seconds": None, "epoch": None, "batch": None,
              "metrics": {}, "constant_output": False}
    header.update(changes)
    return json.dumps(header).encode()


GOOD_BLOCK = codec.encode_maps(np.zeros((2, 4, 4)))[0]
MALFORMED_MAPS = {   # method -> (blobs of its step 0, what the error names)
    "notargets": ([v2_header(targets=None), GOOD_BLOCK], "targets must be a list"),
    "emptytargets": ([v2_header(targets=[]), GOOD_BLOCK], "targets must be a list (not"),
    "raggedranges": ([v2_header(targets=[[0], [1, 2]]), GOOD_BLOCK],
                     "ranges[1] must be a list of 2"),
    "oneblob": ([v2_header()], "holds 1 blobs, not 2"),
    "nondict": ([b"[1, 2]", GOOD_BLOCK], "must be a JSON object"),
    "wrongtypes": ([v2_header(height="4"), GOOD_BLOCK], "height must be an integer"),
    "notjson": ([b"{not json", GOOD_BLOCK], "unreadable Picasso map header"),
    "shortblock": ([v2_header(), codec.encode_maps(np.zeros((1, 4, 4)))[0]],
                   "header describes 64 bytes of maps, the block holds 32"),
    "notzlib": ([v2_header(), b"\x00" * 40], "corrupt Picasso map block"),
}
MALFORMED_PREDICTIONS = {   # step -> (body, what the error names)
    0: (b'{"version": 2, "probabilities": [[1.0]], "constant_output": false}', "classes"),
    1: (b'"a string"', "must be a JSON object"),
    2: (b'{"version": 2, "classes": [[0], [1]], "probabilities": [["0.5"], [0.5]], '
        b'"constant_output": false}', "probabilities[0][0] must be a finite number"),
}
BAD_PROBES = {   # run -> (probes blobs, what the error names)
    "probes_class_names": ([json.dumps({"version": 2, "class_names": 5, "images": [
        {"hash": "ab", "label": 0, "height": 4, "width": 4}]}).encode(), b"png"],
        "class_names must be a list"),
    "probes_no_images": ([b'{"version": 2, "class_names": ["a"]}', b"png"],
                         "images must be a list"),
    "probes_png_count": ([json.dumps({"version": 2, "class_names": None, "images": [
        {"hash": "ab", "label": None, "height": 4, "width": 4}] * 2}).encode(), b"png"],
        "lists 2 images but the step holds 1 PNGs"),
    "probes_not_object": ([b"[]", b"png"], "must be a JSON object"),
}
QUOTED_RUNS = ['with"quote', "with\\backslash"]


def v1_events():
    """A run as version 1 of the format wrote it (rectangular targets, no quantiles)."""
    block, ranges = codec.encode_maps(MAPS[:, 0])
    header = {"version": 1, "method": "saliency", "params": {}, "targets": [[0], [1]],
              "ranges": [[pair] for pair in ranges.tolist()], "height": 4, "width": 4,
              "seconds": 0.5, "epoch": 0, "batch": None, "metrics": {}}
    probes = {"version": 1, "class_names": ["a", "b"], "images": [
        {"hash": codec.image_hash(im), "label": i, "height": 4, "width": 4}
        for i, im in enumerate(IMAGES)]}
    pngs = [codec.encode_png(im, (0, 1)) for im in IMAGES]
    return [blob_step("probes", "probes", [json.dumps(probes).encode(), *pngs], version=1),
            blob_step("map/saliency", "map", [json.dumps(header).encode(), block],
                      version=1, method="saliency", signed=False),
            blob_step("predictions", "predictions", [json.dumps(
                {"version": 1, "classes": [[0], [1]], "probabilities": [[0.6], [0.7]],
                 "epoch": 0, "batch": None}).encode()], version=1)]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    write(root / "good", [round_event(0)])
    write(root / "v1", v1_events())
    for run in QUOTED_RUNS:
        write(root / run, [round_event(0)])
    for run, (blobs, _) in BAD_PROBES.items():
        write(root / run, [blob_step("probes", "probes", blobs)])
    write(root / "bad_metadata", [round_event(0), blob_step("map/x", "map", [b"", b""])])
    bad = [round_event(0, probes=True)]
    bad += [blob_step(layout.map_tag(method), "map", blobs, method=method, signed=False)
            for method, (blobs, _) in MALFORMED_MAPS.items()]
    bad += [blob_step("predictions", "predictions", [body], step=step + 1)
            for step, (body, _) in MALFORMED_PREDICTIONS.items()]
    write(root / "bad", bad)   # its predictions step 3 (the last event) says "loaded"
    return root


def everything_loaded(index):
    runs = {r["run"]: r for r in index["runs"]}
    expected = {"good", "v1", "bad", "bad_metadata", *QUOTED_RUNS, *BAD_PROBES}
    return set(runs) == expected and runs["bad"]["prediction_steps"] == [0, 1, 2, 3]


@pytest.fixture(scope="module", params=LOADERS)
def server(request, logs):
    with tensorboard_process(logs, request.param, ready=everything_loaded) as base:
        yield base + "data/plugin/picasso/", request.param


def fetch(url):
    """(status, content type, body bytes) of a GET, also for 4xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read()


def query(**params):
    return urllib.parse.urlencode(params)


def test_index_isolates_each_unreadable_run(server):
    """Rows 2 and 3: a malformed probes header or metadata, and (Rust data server) a run
    name with a quote or backslash, are listed with their error; the others work."""
    api, load_fast = server
    status, index = get_json(api + "index")
    assert status == 200
    runs = {r["run"]: r for r in index["runs"]}
    for run in ("good", "v1", "bad"):
        assert runs[run]["error"] is None, runs[run]["error"]
        assert [m["steps"] for m in runs[run]["methods"]][0] == [0]
    assert runs["good"]["probes"][1]["label_name"] == "b"
    for run, (_, message) in BAD_PROBES.items():
        assert message in runs[run]["error"], run
        assert runs[run]["methods"] == [] and runs[run]["probes"] == []
    assert "'signed'" in runs["bad_metadata"]["error"]
    for run in QUOTED_RUNS:
        status, content_type, body = fetch(
            api + "block?" + query(run=run, method="saliency", step=0))
        if load_fast == "true":   # TensorBoard's data server cannot parse their blob keys
            assert "double quote or a backslash" in runs[run]["error"]
            assert "--load_fast=false" in runs[run]["error"]
            assert (status, content_type) == (400, "application/json")
            assert "double quote or a backslash" in json.loads(body)["error"]
        else:
            assert runs[run]["error"] is None and status == 200


@pytest.mark.parametrize("method", sorted(MALFORMED_MAPS))
def test_malformed_maps_answer_422_json(server, method):
    """Row 4: every route reading a malformed map step answers 422 naming the field."""
    api, _ = server
    message = MALFORMED_MAPS[method][1]
    header_ok = method in ("shortblock", "notzlib")
    for route, params in [("block", {"step": 0}), ("series", {})]:
        status, content_type, body = fetch(
            f"{api}{route}?" + query(run="bad", method=method, **params))
        if header_ok and route == "series":   # it reads no block
            assert status == 200, (route, body)
            continue
        assert (status, content_type) == (422, "application/json"), (route, body)
        assert message in json.loads(body)["error"], route


@pytest.mark.parametrize("step", sorted(MALFORMED_PREDICTIONS))
def test_malformed_predictions_answer_422_json(server, step):
    api, _ = server
    status, body = get_json(api + "predictions?" + query(run="bad", step=step + 1))
    assert status == 422 and MALFORMED_PREDICTIONS[step][1] in body["error"]


def test_version_1_logs_stay_readable(server):
    api, _ = server
    status, series = get_json(api + "series?" + query(run="v1", method="saliency"))
    assert status == 200 and series["classes"] == [[[0], [1]]]
    assert series["abs_quantiles"] == [[[[15.0] * 7], [[31.0] * 7]]]   # max(|lo|, |hi|)
    assert series["constant_output"] == [False]
    status, _, data = fetch(api + "block?" + query(run="v1", method="saliency", step=0))
    (length,) = struct.unpack("<I", data[:4])
    header = json.loads(data[4:4 + length])
    assert status == 200 and header["version"] == 1 and header["constant_output"] is False
    raw = np.frombuffer(zlib.decompress(data[4 + length:]), np.uint8)
    assert raw.size == 2 * 2 * 16
    status, predictions = get_json(api + "predictions?" + query(run="v1", step=0))
    assert predictions["constant_output"] is False
    assert predictions["images"][1]["top"] == [{"class": 1, "name": "b", "prob": 0.7}]


def block_maps(data):
    (length,) = struct.unpack("<I", data[:4])
    header = json.loads(data[4:4 + length])
    ranges = [pair for row in header["ranges"] for pair in row]
    flat = codec.decode_maps(data[4 + length:], ranges, header["height"], header["width"])
    return header, flat


def wait_for(condition, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.mark.parametrize("load_fast", LOADERS)
def test_a_rewritten_step_is_served_in_its_new_version(tmp_path, load_fast):
    """Row 1: training re-run into the same log directory while TensorBoard runs. The
    Rust data server replaces the rewritten steps and the plugin serves the new maps;
    TensorBoard's Python loader keeps the first event of a step. Either way what the
    plugin serves is the version its index lists, never a stale cached one."""
    run = tmp_path / "picasso"
    write(run, [round_event(step, wall_time=100.0 + step, probes=step == 0,
                            scalars={"marker": 1.0})
                for step in (0, 1)])
    loaded = lambda index: bool(index["runs"] and index["runs"][0]["methods"] and  # noqa
                                index["runs"][0]["methods"][0]["steps"] == [0, 1])
    with tensorboard_process(tmp_path, load_fast, ready=loaded) as base:
        api = base + "data/plugin/picasso/"
        _, first = block_maps(fetch(api + "block?run=picasso&method=saliency&step=0")[2])
        np.testing.assert_allclose(first, MAPS[:, 0], atol=1e-3)
        _, old_maps = block_maps(fetch(api + "block?run=picasso&method=saliency&step=0")[2])
        time.sleep(1.1)   # the re-run's event file name sorts after the first one's
        write(run, [round_event(step, maps=-MAPS, seconds=2.0, wall_time=200.0 + step,
                                probes=step == 0,
                                scalars={"marker": 2.0}) for step in (0, 1)])

        def marker_seen():
            _, points = get_json(base + "data/plugin/scalars/scalars?run=picasso"
                                 "&tag=marker")
            return any(value == 2.0 for _, _, value in points)
        wait_for(marker_seen, what="TensorBoard to read the re-run")
        _, index = get_json(api + "index")
        versions = index["runs"][0]["methods"][0]["versions"]
        header, maps = block_maps(
            fetch(api + "block?run=picasso&method=saliency&step=0")[2])
        _, series = get_json(api + "series?run=picasso&method=saliency")
    assert series["versions"] == versions
    assert series["seconds"] == [{100.0: 1.0, 200.0: 2.0}[v // 100 * 100] for v in versions]
    expected_sign = {100.0: 1, 200.0: -1}[versions[0]]
    assert header["seconds"] == {1: 1.0, -1: 2.0}[expected_sign]
    np.testing.assert_allclose(maps, expected_sign * MAPS[:, 0], atol=1e-3)
    if load_fast == "true":
        assert versions == [200.0, 201.0] and expected_sign == -1
    else:
        np.testing.assert_array_equal(old_maps, maps)
