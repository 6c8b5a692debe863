"""The storage format: byte layout against docs/http_api.md, round trips, ragged targets,
version 1 logs, validation of malformed headers, TF-free protos read back by TensorBoard
(both loaders). No TensorFlow here."""

import hashlib
import json
import subprocess
import sys
import zlib

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.summary import (codec, headers, layout, occlusion_pb, pb,
                                         probabilities_pb, probes_pb, records)
from tensorboard_harness import get_json, tensorboard_process


def doc_decode(block, ranges, height, width):
    """A map block decoded exactly as docs/http_api.md describes it (independent of the
    package): inflate, low plane then high plane, cumulative sums mod 65536, scale."""
    raw = np.frombuffer(zlib.decompress(block), np.uint8)
    count = len(ranges)
    assert raw.size == 2 * count * height * width
    d = raw[:raw.size // 2].astype(np.int64) + 256 * raw[raw.size // 2:].astype(np.int64)
    q = np.cumsum(np.cumsum(d.reshape(count, height, width), axis=2), axis=1) % 65536
    lo, hi = np.asarray(ranges, np.float64).T[:, :, None, None]
    return lo + q / 65535 * (hi - lo)


def test_block_bytes_follow_the_documented_layout():
    # one 2x2 map [[0, 1], [1, 1]]: q = [[0, 65535], [65535, 65535]]; differenced along
    # the width [[0, 65535], [65535, 0]], then the height [[0, 65535], [65535, 1]]
    _, _, blobs = records.map_record("m", np.array([[[[0, 1], [1, 1]]]]), [[4]], False)
    assert zlib.decompress(layout.map_block(blobs)) == bytes(
        [0x00, 0xFF, 0xFF, 0x01,     # low bytes
         0x00, 0xFF, 0xFF, 0x00])    # high bytes
    header = json.loads(layout.map_header(blobs))
    assert header["ranges"] == [[[0.0, 1.0]]] and header["targets"] == [[4]]


def test_map_round_trip_within_range_over_131070():
    rng = np.random.default_rng(0)
    maps = np.stack([rng.normal(size=(2, 64, 64)) * 1e-3,
                     rng.normal(size=(2, 64, 64)) * 40])
    _, _, blobs = records.map_record("occlusion", maps, np.array([[1, 2], [0, 1]]), True)
    assert len(blobs) == 2    # one block holds every image's maps
    header = headers.map_header(layout.map_header(blobs))
    ranges = [pair for row in header["ranges"] for pair in row]
    decoded = doc_decode(layout.map_block(blobs), ranges, 64, 64).reshape(maps.shape)
    span = maps.max(axis=(2, 3)) - maps.min(axis=(2, 3))
    error = np.abs(decoded - maps.astype(np.float32)).max(axis=(2, 3))
    assert (error <= span / 131070 * 1.01 + 1e-6 * np.abs(maps).max(axis=(2, 3))).all()
    np.testing.assert_allclose(codec.decode_maps(layout.map_block(blobs), ranges, 64, 64),
                               decoded.reshape(4, 64, 64), rtol=1e-6, atol=1e-9)


def test_ragged_targets_concatenate_maps_in_image_then_target_order():
    rng = np.random.default_rng(1)
    per_image = [rng.normal(size=(1, 5, 7)), rng.normal(size=(3, 5, 7)),
                 rng.normal(size=(2, 5, 7))]
    targets = [[2], [0, 4, 1], [3, 3]]
    _, _, blobs = records.map_record("gradcam", per_image, targets, False,
                                     metrics={"deletion_auc": [0.1, np.nan, 0.3]})
    header = headers.map_header(layout.map_header(blobs))
    assert header["targets"] == targets
    assert [len(row) for row in header["ranges"]] == [1, 3, 2]
    assert [len(row) for row in header["abs_quantiles"]] == [1, 3, 2]
    assert header["metrics"] == {"deletion_auc": [0.1, None, 0.3]}
    ranges = [pair for row in header["ranges"] for pair in row]
    decoded = doc_decode(layout.map_block(blobs), ranges, 5, 7)
    truth = np.concatenate(per_image)
    span = truth.max(axis=(1, 2)) - truth.min(axis=(1, 2))
    assert (np.abs(decoded - truth.astype(np.float32)).max(axis=(1, 2))
            <= span / 131070 * 1.01 + 1e-7).all()


def test_rectangular_and_ragged_inputs_write_the_same_bytes():
    maps = np.random.default_rng(2).normal(size=(3, 2, 6, 6))
    rectangular = records.map_record("m", maps, np.array([[0, 1]] * 3), True)
    ragged = records.map_record("m", list(maps), [[0, 1]] * 3, True)
    assert rectangular == ragged


def test_abs_quantiles_at_the_documented_levels():
    # |v| = 1..100 (signs alternate): linear-interpolated quantile at p is 1 + 99 p
    values = np.arange(1, 101, dtype=np.float64) * np.where(np.arange(100) % 2, -1, 1)
    _, _, blobs = records.map_record("m", values.reshape(1, 1, 10, 10), [[0]], True)
    header = headers.map_header(layout.map_header(blobs))
    assert layout.QUANTILE_LEVELS == (90, 95, 98, 99, 99.5, 99.9, 100)
    np.testing.assert_allclose(header["abs_quantiles"][0][0],
                               [90.1, 95.05, 98.02, 99.01, 99.505, 99.901, 100.0])
    assert header["constant_output"] is False


def test_constant_map_round_trips_exactly():
    maps = np.full((1, 1, 8, 8), 0.25)
    _, _, blobs = records.map_record("gradcam", maps, np.array([[0]]), False,
                                     constant_output=True)
    header = headers.map_header(layout.map_header(blobs))
    assert header["ranges"] == [[[0.25, 0.25]]] and header["constant_output"] is True
    np.testing.assert_array_equal(
        codec.decode_maps(layout.map_block(blobs), [[0.25, 0.25]], 8, 8), maps[0])


def v1_map_header(**changes):
    """A map header as version 1 of the format wrote it (rectangular, no quantiles)."""
    header = {"version": 1, "method": "occlusion", "params": {"window": 4},
              "targets": [[1], [0]], "ranges": [[[-2.0, 0.5]], [[0.0, 3.0]]],
              "height": 8, "width": 8, "seconds": 0.1, "epoch": 0, "batch": None,
              "metrics": {"drift_previous": [None, 0.5]}}
    header.update(changes)
    return json.dumps(header).encode()


def test_version_1_headers_are_upgraded():
    header = headers.map_header(v1_map_header())
    assert header["abs_quantiles"] == [[[2.0] * 7], [[3.0] * 7]]   # max(|lo|, |hi|)
    assert header["constant_output"] is False and header["targets"] == [[1], [0]]
    body = headers.predictions_body(json.dumps(
        {"version": 1, "classes": [[1, 0]], "probabilities": [[0.9, 0.1]], "epoch": 0,
         "batch": None}).encode())
    assert body["constant_output"] is False and body["classes"] == [[1, 0]]


@pytest.mark.parametrize("blob,field", [
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe", "unreadable"),
    (v1_map_header(version=3), "version 3 is not supported"),
    (v1_map_header(version=True), "version True"),
    (v1_map_header(targets=None), "targets must be a list"),
    (v1_map_header(targets=[]), "targets must be a list (not empty)"),
    (v1_map_header(targets=[[1], []]), "targets[1] must be a list (not empty)"),
    (v1_map_header(targets=[[1], ["0"]]), "targets[1][0] must be an integer"),
    (v1_map_header(targets=[[1], [0, 2]]), "ranges[1] must be a list of 2"),
    (v1_map_header(ranges=[[[0, 1]]]), "ranges must be a list of 2"),
    (v1_map_header(ranges=[[[0, 1]], [[2, 1]]]), "lo <= hi"),
    (v1_map_header(ranges=[[[0, 1]], [[0, "1"]]]), "ranges[1][0][1] must be a finite"),
    (v1_map_header(height="8"), "height must be an integer >= 1"),
    (v1_map_header(width=0), "width must be an integer >= 1"),
    (v1_map_header(metrics={"drift_previous": [0.5]}), "metrics['drift_previous']"),
    (v1_map_header(metrics=[]), "metrics must be a JSON object"),
    (v1_map_header(params=[]), "params must be a JSON object"),
    (v1_map_header(version=2, abs_quantiles=[[[1] * 7], [[1] * 6]], constant_output=False),
     "abs_quantiles[1][0] must be a list of 7"),
    (v1_map_header(version=2, abs_quantiles=[[[1] * 7], [[1] * 7]]), "constant_output"),
])
def test_malformed_map_headers_name_the_field(blob, field):
    with pytest.raises(layout.FormatError) as caught:
        headers.map_header(blob)
    assert field in str(caught.value)


@pytest.mark.parametrize("body,field", [
    ({"version": 2, "probabilities": [[1.0]], "constant_output": False}, "classes"),
    ({"version": 2, "classes": [[1, 0]], "probabilities": [[1.0]],
      "constant_output": False}, "probabilities[0] must be a list of 2"),
    ({"version": 2, "classes": [[1]], "probabilities": [[1.0]]}, "constant_output"),
])
def test_malformed_predictions_name_the_field(body, field):
    with pytest.raises(layout.FormatError) as caught:
        headers.predictions_body(json.dumps(body).encode())
    assert field in str(caught.value)


@pytest.mark.parametrize("header,field", [
    ({"version": 2, "class_names": ["a"]}, "images must be a list"),
    ({"version": 2, "images": [{"hash": "x", "label": None, "height": 8, "width": 8}],
      "class_names": 5}, "class_names must be a list"),
    ({"version": 2, "images": [{"hash": 1, "label": None, "height": 8, "width": 8}]},
     "images[0].hash must be a string"),
])
def test_malformed_probes_headers_name_the_field(header, field):
    with pytest.raises(layout.FormatError) as caught:
        headers.probes_header(json.dumps(header).encode())
    assert field in str(caught.value)


def test_metadata_is_versioned_and_checked():
    content = layout.metadata_content("map", method="saliency", signed=False)
    assert json.loads(content) == {"version": 2, "kind": "map", "method": "saliency",
                                   "signed": False}
    assert layout.parse_metadata(b'{"version": 1, "kind": "probes"}')["kind"] == "probes"
    with pytest.raises(layout.FormatError, match="upgrade tensorboard-picasso"):
        layout.parse_metadata(b'{"version": 99, "kind": "map"}')
    with pytest.raises(layout.FormatError, match="unreadable"):
        layout.parse_metadata(b"\xff")
    with pytest.raises(layout.FormatError, match="'signed'"):
        layout.parse_metadata(b'{"version": 2, "kind": "map", "method": "m"}')


def test_probe_hash_is_sha256_of_float32_values():
    x = np.random.default_rng(1).random((3, 8, 8, 1))
    _, _, blobs = records.probes_record(x, [0, 1, 0], ["a", "b"])
    header = headers.probes_header(layout.probes_header(blobs))
    expected = [hashlib.sha256(im.astype("<f4").tobytes()).hexdigest()[:16] for im in x]
    assert [im["hash"] for im in header["images"]] == expected
    assert layout.probe_count(blobs) == 3
    assert layout.probe_png(blobs, 2)[:8] == b"\x89PNG\r\n\x1a\n"


def test_tags_and_blob_positions():
    assert layout.map_tag("gradcam") == "map/gradcam"
    assert layout.method_of_tag("map/gradcam") == "gradcam"
    assert layout.method_of_tag("predictions") is None
    assert layout.metric_tag("saliency", "drift") == "picasso/saliency/drift"
    assert layout.SECONDS_PER_ROUND_TAG == "picasso/seconds_per_round"
    with pytest.raises(layout.FormatError, match="holds 1 blobs, not 2"):
        layout.map_block([b"header"])
    with pytest.raises(layout.FormatError, match="holds 2 blobs, not 1"):
        layout.predictions_body([b"a", b"b"])


def write_events(directory, events):
    writer = EventFileWriter(str(directory))
    for step, summary in events:
        writer.add_event(event_pb2.Event(step=step, summary=summary, wall_time=1.0))
    writer.close()


def test_pb_builders_write_without_tensorflow(tmp_path):
    """The *_pb builders with TensorBoard's own EventFileWriter, read back by its loader."""
    images = np.random.default_rng(2).random((2, 8, 8, 3)).astype("float32")
    maps = np.random.default_rng(3).random((2, 1, 8, 8))
    write_events(tmp_path, [
        (-1, probes_pb(images, [1, 0])),
        (0, occlusion_pb(maps, [[1], [0]], epoch=0, metrics={"insertion_auc": [0.5, 0.7]},
                         constant_output=True)),
        (0, probabilities_pb([[1, 0], [0, 1]], [[0.9, 0.1], [0.6, 0.4]], epoch=0))])
    acc = event_accumulator.EventAccumulator(str(tmp_path),
                                             size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    assert set(acc.Tags()["tensors"]) == {"probes", "map/occlusion", "predictions"}
    blobs = acc.Tensors("map/occlusion")[0].tensor_proto.string_val
    header = headers.map_header(layout.map_header(blobs))
    assert header["epoch"] == 0 and header["metrics"] == {"insertion_auc": [0.5, 0.7]}
    assert header["constant_output"] is True
    decoded = doc_decode(layout.map_block(blobs), [p for r in header["ranges"] for p in r],
                         8, 8)
    assert np.abs(decoded - maps[:, 0]).max() < 1e-4
    meta = acc.SummaryMetadata("map/occlusion")
    assert meta.plugin_data.plugin_name == "picasso" and meta.data_class == 3  # BLOB_SEQ


@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_one_event_holds_a_whole_round_and_its_scalars(tmp_path, load_fast):
    """`round_summary`: maps, predictions and scalars in one Event, read by TensorBoard's
    Picasso and Scalars plugins, with either loader."""
    images = np.random.default_rng(4).random((2, 8, 8, 3))
    round_records = [records.probes_record(images),
                     records.map_record("saliency", np.ones((2, 1, 8, 8)), [[0], [1]],
                                        False),
                     records.predictions_record([[0], [1]], [[0.7], [0.8]])]
    scalars = {layout.SECONDS_PER_ROUND_TAG: 1.5,
               layout.metric_tag("saliency", "drift_previous"): 0.25}
    write_events(tmp_path / "picasso", [(3, pb.round_summary(round_records, scalars))])
    loaded = lambda index: any(r["methods"] for r in index["runs"])  # noqa: E731
    with tensorboard_process(tmp_path, load_fast, ready=loaded) as base:
        _, index = get_json(base + "data/plugin/picasso/index")
        for tag, value in scalars.items():
            status, points = get_json(f"{base}data/plugin/scalars/scalars?run=picasso&tag="
                                      f"{tag}")
            assert status == 200 and [(s, v) for _, s, v in points] == [(3, value)]
    entry = index["runs"][0]
    assert entry["methods"][0]["steps"] == [3] and entry["prediction_steps"] == [3]


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match=r"maps must be \(N, T, H, W\)"):
        records.map_record("occlusion", np.zeros((2, 8, 8)), np.zeros((2, 1)), True)
    with pytest.raises(ValueError, match=r"targets\[1\] must hold 2 class indices"):
        records.map_record("m", [np.zeros((1, 4, 4)), np.zeros((2, 4, 4))], [[0], [1]],
                           True)
    with pytest.raises(ValueError, match=r"maps\[1\] must be \(T, H, W\)"):
        records.map_record("m", [np.zeros((1, 4, 4)), np.zeros((1, 4, 5))], [[0], [1]],
                           True)
    with pytest.raises(ValueError, match=r"maps\[0\] holds NaN"):
        records.map_record("m", np.full((1, 1, 4, 4), np.nan), [[0]], True)
    with pytest.raises(ValueError, match=r"metrics\['drift'\] has 1 values for 2 images"):
        records.map_record("m", np.zeros((2, 1, 4, 4)), [[0], [0]], True,
                           metrics={"drift": [0.5]})
    with pytest.raises(ValueError, match="value_range must be"):
        records.probes_record(np.zeros((1, 4, 4, 3)), value_range=(1, 1))
    with pytest.raises(ValueError, match=r"classes and probabilities must both be"):
        records.predictions_record([[0, 1]], [[0.5]])


def test_corrupt_or_mis_sized_blocks():
    block = codec.encode_maps(np.zeros((2, 4, 4)))[0]
    codec.check_block(block, 2, 4, 4)
    with pytest.raises(layout.FormatError, match="corrupt"):
        codec.check_block(b"not zlib", 1, 8, 8)
    with pytest.raises(layout.FormatError, match="holds 64"):
        codec.check_block(block, 3, 4, 4)
    with pytest.raises(layout.FormatError, match="more than"):
        codec.check_block(block, 1, 4, 4)
    with pytest.raises(layout.FormatError, match="trailing"):
        codec.check_block(block + b"x", 2, 4, 4)


def test_plugin_side_imports_no_tensorflow_and_loader_no_numpy():
    code = ("import sys, tensorboard_picasso.plugin_loader; "
            "assert 'numpy' not in sys.modules, 'numpy imported by the loader'; "
            "import tensorboard_picasso.plugin, tensorboard_picasso.summary.pb; "
            "assert 'tensorflow' not in sys.modules, 'TF imported'; "
            "assert 'keras' not in sys.modules, 'keras imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
