"""The storage format: round trip, TF-free builders, versioning. No TensorFlow here."""

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_picasso.summary import format as fmt
from tensorboard_picasso.summary import occlusion_pb, probabilities_pb, probes_pb


def test_map_round_trip_within_1e4_of_range():
    rng = np.random.default_rng(0)
    maps = np.stack([rng.normal(size=(2, 64, 64)) * 1e-3, rng.normal(size=(2, 64, 64)) * 40])
    _, _, blobs = fmt.map_record("occlusion", maps, np.array([[1, 2], [0, 1]]), True)
    header = fmt.decode_json(blobs[0])
    assert len(blobs) == 2    # one block holds every image's maps
    all_maps = fmt.decode_map_block(blobs[1], header)
    for image in range(2):
        decoded = all_maps[image]
        span = maps[image].max(axis=(1, 2)) - maps[image].min(axis=(1, 2))
        error = np.abs(decoded - maps[image]).max(axis=(1, 2))
        assert (error <= 1e-4 * span).all()
        assert (error <= span / 131070 * 1.01 + 1e-6 * np.abs(maps[image]).max()).all()


def test_constant_map_round_trips_exactly():
    maps = np.full((1, 1, 8, 8), 0.25)
    _, _, blobs = fmt.map_record("gradcam", maps, np.array([[0]]), False)
    header = fmt.decode_json(blobs[0])
    np.testing.assert_array_equal(fmt.decode_map_block(blobs[1], header), maps)


def test_metadata_is_versioned_and_checked():
    content = fmt.metadata_content("map", method="saliency", signed=False)
    assert fmt.parse_metadata(content) == {"version": 1, "kind": "map",
                                           "method": "saliency", "signed": False}
    with pytest.raises(fmt.FormatError, match="upgrade tensorboard-picasso"):
        fmt.parse_metadata(b'{"version": 99, "kind": "map"}')
    with pytest.raises(fmt.FormatError, match="unreadable"):
        fmt.parse_metadata(b"\xff")


def test_probe_hash_identifies_content():
    x = np.random.default_rng(1).random((3, 8, 8, 1)).astype("float32")
    _, _, blobs = fmt.probes_record(x, [0, 1, 0], ["a", "b"])
    header = fmt.decode_json(blobs[0])
    hashes = [im["hash"] for im in header["images"]]
    assert len(set(hashes)) == 3 and hashes[0] == fmt.image_hash(x[0].copy())
    assert blobs[1][:8] == b"\x89PNG\r\n\x1a\n"


def test_pb_builders_write_without_tensorflow(tmp_path):
    """The *_pb builders with TensorBoard's own EventFileWriter, read back by its loader."""
    writer = EventFileWriter(str(tmp_path))
    images = np.random.default_rng(2).random((2, 8, 8, 3)).astype("float32")
    maps = np.random.default_rng(3).random((2, 1, 8, 8))
    for step, summary in [(-1, probes_pb(images, [1, 0])), (0, occlusion_pb(maps, [[1], [0]])),
                          (0, probabilities_pb([[1, 0], [0, 1]], [[0.9, 0.1], [0.6, 0.4]]))]:
        writer.add_event(event_pb2.Event(step=step, summary=summary, wall_time=1.0))
    writer.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path),
                                             size_guidance={event_accumulator.TENSORS: 0})
    acc.Reload()
    assert set(acc.Tags()["tensors"]) == {"probes", "map/occlusion", "predictions"}
    event = acc.Tensors("map/occlusion")[0]
    blobs = event.tensor_proto.string_val
    header = fmt.decode_json(blobs[0])
    decoded = fmt.decode_map_block(blobs[1], header)
    assert np.abs(decoded - maps).max() < 1e-4
    meta = acc.SummaryMetadata("map/occlusion")
    assert meta.plugin_data.plugin_name == "picasso" and meta.data_class == 3  # BLOB_SEQ


def test_bad_shapes_and_corrupt_blocks():
    with pytest.raises(ValueError, match=r"maps must be \(N, T, H, W\)"):
        fmt.map_record("occlusion", np.zeros((2, 8, 8)), np.zeros((2, 1)), True)
    with pytest.raises(fmt.FormatError, match="corrupt"):
        fmt.decode_map_block(b"not zlib", {"ranges": [[[0, 1]]], "height": 8, "width": 8})


def test_plugin_side_imports_no_tensorflow():
    import subprocess
    import sys
    code = ("import sys, tensorboard_picasso.plugin, tensorboard_picasso.plugin_loader, "
            "tensorboard_picasso.summary; "
            "assert 'tensorflow' not in sys.modules, 'TF imported'; "
            "assert 'keras' not in sys.modules, 'keras imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
