"""Latency and size of the plugin's routes, with each of TensorBoard's loaders.

The log (written with the TF-free builders, no TensorFlow needed): RUNS small runs
(probes + 2 checkpoints of one method) and one big run of CHECKPOINTS checkpoints x
PROBES images x 3 methods (SIDE x SIDE maps: blocky occlusion, noisy saliency, smooth
Grad-CAM). Each TensorBoard is ready when its Scalars plugin shows every run's sentinel
scalar (the last event of each file), so the Picasso plugin's caches are cold at the
first `index`. Prints, for `--load_fast=true` (the Rust data server) and `false`:

* `index` over RUNS + 1 runs, cold (reads every run's probes header) and warm;
* `block` p50 / p95, cold (the first request of a checkpoint: header and block read
  concurrently) and warm (the same request again), over CHECKPOINTS x 3 columns;
* `series` of a CHECKPOINTS-checkpoint method, cold (every header read) and warm;
* bytes of a `block` response / the stored block's bytes, and / the version 1 `mapset`
  response (base64 float32) for the same column;
* TensorBoard's own scalars route p50, the data provider's round trip for reference.

Run:  python benchmarks/route_latency.py
"""

import os
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # TensorBoard's writer imports TF

import numpy as np  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402

from tensorboard_picasso.summary import layout, pb, records  # noqa: E402

RUNS, CHECKPOINTS, PROBES, SIDE = 50, 200, 16, 64
METHODS = ("occlusion", "saliency", "gradcam")
SENTINEL = "sentinel"


def smooth(rng, count):
    """Grad-CAM-like maps (count, SIDE, SIDE): a few Gaussian bumps, non-negative."""
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    maps = np.zeros((count, SIDE, SIDE))
    for image in range(count):
        for cy, cx, s in rng.random((3, 3)):
            maps[image] += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (0.02 + 0.1 * s))
    return maps


def method_maps(method, rng):
    """(PROBES, 1, SIDE, SIDE) maps of the kind `method` makes."""
    if method == "occlusion":   # 8 x 8 windows: piecewise constant, signed
        coarse = rng.normal(size=(PROBES, 8, 8))
        return np.kron(coarse, np.ones((SIDE // 8, SIDE // 8)))[:, None]
    if method == "saliency":    # per-pixel gradient magnitudes: noisy
        noise = np.abs(rng.normal(size=(PROBES, SIDE, SIDE)))
        return (noise * smooth(rng, PROBES))[:, None]
    return smooth(rng, PROBES)[:, None]


def write_event(writer, step, summary):
    writer.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=summary))


def write_logs(root):
    """RUNS small runs and the big run `big/picasso`; each file ends with a sentinel."""
    rng = np.random.default_rng(0)
    images = rng.random((PROBES, SIDE, SIDE, 3))
    labels = np.arange(PROBES) % 10
    names = [f"class {i}" for i in range(10)]
    targets = labels[:, None]
    for run in [f"small_{i:03d}/picasso" for i in range(RUNS)] + ["big/picasso"]:
        writer = EventFileWriter(str(root / run))
        steps = range(-1, CHECKPOINTS - 1) if run.startswith("big") else (-1, 0)
        methods = METHODS if run.startswith("big") else METHODS[:1]
        for step in steps:
            round_records = [records.probes_record(images, labels, names)] \
                if step == -1 else []
            round_records += [records.map_record(m, method_maps(m, rng), targets,
                                                 m == "occlusion", epoch=step)
                              for m in methods]
            round_records.append(records.predictions_record(
                targets, np.full((PROBES, 1), 0.5)))
            write_event(writer, step, pb.round_summary(
                round_records, {layout.SECONDS_PER_ROUND_TAG: 0.1}))
        write_event(writer, 0, pb.round_summary([], {SENTINEL: 1.0}))
        writer.close()


def fetch(url, headers=None):
    """(seconds, body bytes as sent) of one GET."""
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                timeout=120) as response:
        body = response.read()
    return time.perf_counter() - start, body


def serve(root, load_fast):
    """A TensorBoard process on a free port, ready when every run's sentinel is read;
    returns (process, base URL)."""
    import json
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(root), "--host",
         "127.0.0.1", "--port", str(port), f"--load_fast={load_fast}",
         "--reload_interval", "5"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "TensorBoard failed"
        try:
            tags = json.loads(fetch(base + "data/plugin/scalars/tags")[1])
            if sum(SENTINEL in run_tags for run_tags in tags.values()) == RUNS + 1:
                return process, base
        except OSError:
            pass
        time.sleep(0.5)


def percentile(values, q):
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def measure(root, load_fast):
    process, base = serve(root, load_fast)
    api = base + "data/plugin/picasso/"
    big = f"{api}{{route}}?run=big/picasso&method={{method}}"
    try:
        index_cold = fetch(api + "index")[0]
        index_warm = min(fetch(api + "index")[0] for _ in range(5))
        # series of Grad-CAM, whose headers no route has read yet (cold), then again
        seconds, series_body = fetch(big.format(route="series", method="gradcam"))
        series = (seconds, min(fetch(big.format(route="series", method="gradcam"))[0]
                               for _ in range(5)))
        series_gzip = fetch(big.format(route="series", method="gradcam"),
                            {"Accept-Encoding": "gzip"})[1]
        # blocks of the other methods: each column once (cold: header and block read),
        # then again (warm: from the cache)
        cold, warm, response_bytes, block_bytes = [], [], 0, 0
        for step in range(-1, CHECKPOINTS - 1):
            for method in METHODS[:2]:
                url = big.format(route="block", method=method) + f"&step={step}"
                seconds, body = fetch(url)
                cold.append(seconds)
                warm.append(fetch(url)[0])
                (length,) = struct.unpack("<I", body[:4])
                response_bytes += len(body)
                block_bytes += len(body) - 4 - length
        versus_mapset = [
            len(fetch(big.format(route="block", method=m) + f"&step={s}")[1])
            / len(fetch(big.format(route="mapset", method=m) + f"&step={s}")[1])
            for m in METHODS for s in range(10)]
        scalars = [fetch(f"{base}data/plugin/scalars/scalars?run=big/picasso&tag="
                         f"{layout.SECONDS_PER_ROUND_TAG}")[0] for _ in range(20)]
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"load_fast={load_fast}:")
    print(f"  index, {RUNS + 1} runs: cold {index_cold * 1000:7.1f} ms, warm "
          f"{index_warm * 1000:6.1f} ms")
    print(f"  block p50 cold {percentile(cold, 0.5):6.1f} ms (p95 "
          f"{percentile(cold, 0.95):6.1f}), warm {percentile(warm, 0.5):5.1f} ms (p95 "
          f"{percentile(warm, 0.95):5.1f}) over {len(cold)} columns of {PROBES} maps "
          f"{SIDE}x{SIDE}")
    print(f"  series, {CHECKPOINTS} checkpoints: cold {series[0] * 1000:7.1f} ms, warm "
          f"{series[1] * 1000:6.1f} ms, {len(series_body) / 1024:.0f} KiB of JSON "
          f"({len(series_gzip) / 1024:.0f} KiB gzip'd as a browser gets it)")
    print(f"  block response / stored block bytes: {response_bytes / block_bytes:.3f} "
          f"({block_bytes / len(cold) / 1024:.1f} KiB stored per column); block / "
          f"version 1 mapset response: {min(versus_mapset):.3f}-{max(versus_mapset):.3f}")
    print(f"  TensorBoard's scalars route p50 (a provider round trip): "
          f"{percentile(scalars, 0.5):5.1f} ms", flush=True)


def main():
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        write_logs(Path(root))
        print(f"wrote {RUNS} small runs and {CHECKPOINTS} checkpoints x {PROBES} images x "
              f"{len(METHODS)} methods in {time.perf_counter() - start:.0f} s", flush=True)
        for load_fast in ("true", "false"):
            measure(Path(root), load_fast)


if __name__ == "__main__":
    main()
