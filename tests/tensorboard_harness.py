"""Real TensorBoard for tests: a process on loopback, or its WSGI app in-process.

Both go through TensorBoard's own start-up path (flags, plugin loaders' `fix_flags`, the
chosen data ingester), so the Picasso plugin is exercised exactly as a user runs it.
"""

import contextlib
import json
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
from tensorboard import default, program
from tensorboard.backend import application
from werkzeug.test import Client

from tensorboard_picasso.plugin_loader import PicassoLoader


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=10):
    """(status, JSON body) of a GET, also for 4xx answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@contextlib.contextmanager
def tensorboard_process(logdir, load_fast, *extra_args, ready=None, log_path=None,
                        timeout=120):
    """A `tensorboard` process on a free loopback port; yields its base URL.

    `ready(index_json) -> bool` says when the logs are loaded (default: any run listed).
    """
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
         "--host", "127.0.0.1", "--port", str(port), f"--load_fast={load_fast}",
         "--reload_interval", "1", *extra_args],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    ready = ready or (lambda index: bool(index["runs"]))
    try:
        deadline = time.time() + timeout
        while True:
            assert process.poll() is None, f"TensorBoard exited (log: {log_path})"
            try:
                status, index = get_json(base + "data/plugin/picasso/index", timeout=5)
                if status == 200 and ready(index):
                    break
            except (OSError, ValueError):
                pass
            assert time.time() < deadline, "TensorBoard did not serve the logs in time"
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()


@contextlib.contextmanager
def tensorboard_wsgi(logdir, load_fast="false", *extra_args):
    """TensorBoard's WSGI app in-process (logs loaded once); yields a werkzeug Client."""
    plugins = default.get_plugins()  # includes the `tensorboard_plugins` entry points
    assert PicassoLoader in plugins, \
        "the Picasso entry point is not registered: pip install -e ."
    tb = program.TensorBoard(plugins=plugins)
    tb.configure(argv=["tensorboard", "--logdir", str(logdir), f"--load_fast={load_fast}",
                       "--reload_interval", "0", "--reload_task", "blocking", *extra_args])
    provider, multiplexer = tb._make_data_provider()  # TensorBoard's own ingester set-up
    app = application.TensorBoardWSGIApp(tb.flags, tb.plugin_loaders, provider,
                                         tb.assets_zip_provider, multiplexer)
    yield Client(app)


def decode_block(data):
    """(header, maps per image (T_i, H, W)) from a `block` response, decoded as
    docs/http_api.md says (independently of the package's own codec)."""
    (length,) = struct.unpack("<I", data[:4])
    header = json.loads(data[4:4 + length])
    raw = np.frombuffer(zlib.decompress(data[4 + length:]), np.uint8)
    h, w = header["height"], header["width"]
    ranges = [pair for row in header["ranges"] for pair in row]
    d = raw[:raw.size // 2].astype(np.int64) + 256 * raw[raw.size // 2:].astype(np.int64)
    q = np.cumsum(np.cumsum(d.reshape(len(ranges), h, w), axis=1), axis=2) % 65536
    lo, hi = np.asarray(ranges).T[:, :, None, None]
    flat = lo + q / 65535 * (hi - lo)
    return header, np.split(flat, np.cumsum([len(t) for t in header["targets"]])[:-1])


def close_to(decoded, truth):
    """Within the format's quantisation error, (hi - lo) / 131070 per map."""
    span = truth.max(axis=(-2, -1)) - truth.min(axis=(-2, -1))
    return (np.abs(decoded - truth).max(axis=(-2, -1)) <= span / 131070 * 1.01 + 1e-6).all()
