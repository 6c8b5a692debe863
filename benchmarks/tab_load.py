"""The tab with a big log: 50 checkpoints x 16 probe images x 3 methods in one run.

Prints, for each TensorBoard loader:
* time from opening the tab's page to a fully drawn grid (the tab sets
  data-picasso-state="ready"), for the whole TensorBoard page and for the tab's iframe
  document alone (target <= 1 s);
* p50 / p95 latency of one checkpoint's `block` (a grid column's maps in their stored
  form) over HTTP (target p50 <= 20 ms), the first time (the server reads it through the
  data provider) and again (from the plugin's cache);
* TensorBoard's resident memory (with its data server) with the log loaded, minus the
  same with an empty log directory, per stored map and vs the event files' bytes.

Needs Debian's chromium and the playwright package. Run:
    python benchmarks/tab_load.py
"""

import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import common  # noqa: F401  (quiet TensorFlow)
import numpy as np
import keras

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tensorboard_harness import tensorboard_process  # noqa: E402

from tensorboard_picasso import PicassoCallback  # noqa: E402

CHECKPOINTS, PROBES, SIDE = 50, 16, 32
METHODS = ["occlusion", "saliency", "gradcam"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = "document.body?.dataset.picassoState === 'ready'"


def write_log(root):
    """A real fit: CHECKPOINTS - 1 epochs + the untrained model = CHECKPOINTS steps."""
    rng = np.random.default_rng(0)
    x = rng.random((128, SIDE, SIDE, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > x[..., 2].mean(axis=(1, 2))).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=CHECKPOINTS - 1, verbose=0, callbacks=[
        PicassoCallback(str(root), x[:PROBES], y[:PROBES], methods=METHODS, metrics=(),
                        verbose=0)])


def tree_rss(pid):
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(
                    int(entry))
            except OSError:
                pass
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def tensorboard_pid(port):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"tensorboard.main" in cmd and str(port).encode() in cmd:
                return int(entry)
    raise RuntimeError("TensorBoard process not found")


def open_tab(browser, url, frame_name=None):
    """Seconds from navigation to the drawn grid."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(url)
    frame = page
    if frame_name:
        while not any(frame_name in f.url for f in page.frames):
            page.wait_for_timeout(5)
        frame = next(f for f in page.frames if frame_name in f.url)
    frame.wait_for_function(READY, timeout=60000, polling=10)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def measure(root, empty, load_fast, browser):
    def loaded(index):
        runs = [r for r in index["runs"] if r.get("methods")]
        return runs and all(len(m["steps"]) == CHECKPOINTS for m in runs[0]["methods"])

    with tensorboard_process(empty, load_fast, ready=lambda index: True) as base:
        idle = tree_rss(tensorboard_pid(base.rsplit(":", 1)[1].strip("/")))
    with tensorboard_process(root, load_fast, ready=loaded) as base:
        pid = tensorboard_pid(base.rsplit(":", 1)[1].strip("/"))
        whole = min(open_tab(browser, base + "#picasso", "plugin_entry.html")
                    for _ in range(3))
        iframe = min(open_tab(browser, base + "data/plugin_entry.html?name=picasso")
                     for _ in range(3))
        # cold: a checkpoint's block read for the first time; warm: the same block again
        cold, warm = [], []
        pairs = [(m, s) for m in METHODS for s in range(-1, CHECKPOINTS - 1)]
        random.Random(0).shuffle(pairs)
        for method, step in pairs:
            url = f"{base}data/plugin/picasso/block?run=picasso&method={method}&step={step}"
            for latencies in (cold, warm):
                start = time.perf_counter()
                with urllib.request.urlopen(url) as response:
                    response.read()
                latencies.append(time.perf_counter() - start)
        loaded_rss = tree_rss(pid)
    maps = CHECKPOINTS * PROBES * len(METHODS)
    events = sum(p.stat().st_size for p in Path(root).rglob("events.out.tfevents*"))
    print(f"load_fast={load_fast}:")
    print(f"  open tab -> grid drawn, whole TensorBoard page  {whole:6.2f} s  "
          f"(target <= 1 s: {whole:.2f}x)")
    print(f"  open tab -> grid drawn, tab iframe alone        {iframe:6.2f} s  "
          f"(target <= 1 s: {iframe:.2f}x)")
    for label, latencies in (("first read of a checkpoint", cold),
                             ("that checkpoint again", warm)):
        p50 = statistics.median(latencies) * 1000
        p95 = sorted(latencies)[int(0.95 * len(latencies))] * 1000
        print(f"  block fetch, {label:<27} p50 {p50:5.1f} ms (target <= 20 ms: "
              f"{p50 / 20:.2f}x), p95 {p95:5.1f} ms")
    print(f"  memory: {(loaded_rss - idle) / 2**20:6.1f} MiB above an empty TensorBoard "
          f"= {(loaded_rss - idle) / maps / 1024:5.1f} KiB per map; event files "
          f"{events / 2**20:5.1f} MiB ({(loaded_rss - idle) / events:4.2f}x their bytes)",
          flush=True)


def main():
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as empty:
        start = time.perf_counter()
        write_log(root)
        print(f"logged {CHECKPOINTS} checkpoints x {PROBES} images x {len(METHODS)} methods "
              f"in {time.perf_counter() - start:.0f} s", flush=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=CHROMIUM_ARGS)
            for load_fast in ("true", "false"):
                measure(root, empty, load_fast, browser)
            browser.close()


if __name__ == "__main__":
    main()
