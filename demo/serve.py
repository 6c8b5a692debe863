"""Start TensorBoard on the demo's logs, on a local port, until Ctrl-C."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"


def free_port(host=HOST):
    """A TCP port that is free on ``host`` right now."""
    with contextlib.closing(socket.socket(socket.AF_INET,
                                          socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def picasso_url(port, host=HOST):
    return "http://%s:%d/#picasso" % (host, port)


def _ready(port, host=HOST):
    """True once TensorBoard answers its plugin listing."""
    url = "http://%s:%d/data/plugins_listing" % (host, port)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class TensorBoard:
    """A TensorBoard subprocess on ``logdir``: ``start()``, then ``stop()``.

    Its output goes to a log file (``log_path``), shown when it fails to
    start. It runs in its own session, so Ctrl-C reaches only the demo, which
    then stops it.
    """

    def __init__(self, logdir, port=0, host=HOST):
        self.logdir = logdir
        self.requested_port = port
        self.host = host
        self.port = None
        self.process = None
        self.log_path = None

    def _command(self, port):
        return [sys.executable, "-m", "tensorboard.main",
                "--logdir", self.logdir, "--host", self.host,
                "--port", str(port)]

    def start(self, timeout=120.0):
        """Start it and wait until it serves; return the port."""
        if self.requested_port:
            try:
                with contextlib.closing(socket.socket(socket.AF_INET,
                                                      socket.SOCK_STREAM)) as s:
                    s.bind((self.host, self.requested_port))
            except OSError as error:
                raise RuntimeError(
                    "port %d on %s is not free (%s); pass another --port, or "
                    "--port 0 for a free one" % (self.requested_port, self.host,
                                                 error.strerror)) from None
        attempts = 1 if self.requested_port else 3
        for _ in range(attempts):
            port = self.requested_port or free_port(self.host)
            fd, self.log_path = tempfile.mkstemp(prefix="picasso_tensorboard_",
                                                 suffix=".log")
            with os.fdopen(fd, "w") as log:
                self.process = subprocess.Popen(
                    self._command(port), stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                if _ready(port, self.host):
                    self.port = port
                    return port
                time.sleep(0.25)
            else:
                self.stop()
                raise RuntimeError(
                    "TensorBoard did not answer on port %d within %.0f s; its "
                    "output is in %s" % (port, timeout, self.log_path))
            # It exited: a port taken in the meantime is worth another try.
            output = self._output()
            if "already in use" not in output or self.requested_port:
                raise RuntimeError(
                    "TensorBoard exited with code %s:\n%s"
                    % (self.process.returncode, output[-3000:]))
        raise RuntimeError("TensorBoard found no free port; pass --port N")

    def _output(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def remove_log(self):
        """Delete TensorBoard's output file (after a clean stop)."""
        if self.log_path:
            with contextlib.suppress(OSError):
                os.remove(self.log_path)

    def wait(self):
        """Block until TensorBoard exits; return its exit code."""
        return self.process.wait()

    def stop(self, grace=5.0):
        """Terminate it (SIGTERM, then SIGKILL after ``grace`` seconds)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(logdir, port=0, log=print):
    """Run TensorBoard on ``logdir`` until Ctrl-C (or SIGTERM); return 0.

    Prints the URL of the Picasso tab once TensorBoard answers.
    """
    board = TensorBoard(logdir, port=port)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        log("\nStarting TensorBoard on %s ..." % os.path.abspath(logdir))
        board.start()
        log("TensorBoard is running. Open the Picasso tab:\n\n    %s\n"
            % picasso_url(board.port))
        log("(TensorBoard's own output: %s)" % board.log_path)
        log("Press Ctrl-C to stop.")
        code = board.wait()
        if code:
            log("TensorBoard exited with code %d; see %s"
                % (code, board.log_path))
            return code
        board.remove_log()
        return 0
    except KeyboardInterrupt:
        log("\nStopping TensorBoard.")
        board.stop()
        board.remove_log()
        return 0
    except RuntimeError as error:
        log("Could not start TensorBoard: %s" % error)
        return 1
    finally:
        board.stop()
        signal.signal(signal.SIGTERM, previous)
