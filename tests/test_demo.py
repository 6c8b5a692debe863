"""The demo end to end: `python -m demo --quick --no-serve` trains and logs the
three runs and its summary tells the tank story; the TensorBoard launcher
starts, serves and stops cleanly on Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = ("digits", "tank_confounded", "tank_clean")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _event_files(path):
    return [f for f in os.listdir(path) if f.startswith("events.out.tfevents")]


def _wait_for_line(proc, pattern, seconds):
    """The first match of `pattern` in the process' stdout; fails after `seconds` even
    when nothing arrives (select on the pipe's descriptor, never a blocking read)."""
    import selectors

    deadline = time.monotonic() + seconds
    seen = ""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout.fileno(), selectors.EVENT_READ)
        while True:
            match = re.search(pattern, seen)
            if match:
                return match.group(0)
            left = deadline - time.monotonic()
            assert left > 0, f"no output matching {pattern!r} within {seconds} s: {seen!r}"
            if selector.select(timeout=left):
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, "the process closed its output: " + proc.stderr.read()
                seen += chunk.decode(errors="replace")


def _summary_row(stdout, name):
    """(probe accuracy, [background shares]) from the summary table row."""
    for line in stdout.splitlines():
        if line.startswith(name + " "):
            percents = [float(p) for p in re.findall(r"(\d+)%", line)]
            shares = [float(s) for s in re.findall(r"\b[01]\.\d\d\b", line)]
            return percents, shares
    raise AssertionError("no summary row for %s in:\n%s" % (name, stdout))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("demo_logs"))
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "demo", "--quick", "--no-serve",
         "--logdir", logdir],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)
    seconds = time.time() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return logdir, proc.stdout, proc.stderr, seconds


def test_demo_writes_the_three_runs(demo_run):
    logdir, stdout, _, _ = demo_run
    for run in RUNS:
        for sub in ("train", "validation", "picasso"):
            path = os.path.join(logdir, run, sub)
            assert os.path.isdir(path), path
            assert _event_files(path), path
    # The Picasso run holds more than an empty event file.
    size = sum(os.path.getsize(os.path.join(logdir, "tank_clean", "picasso", f))
               for f in _event_files(os.path.join(logdir, "tank_clean",
                                                  "picasso")))
    assert size > 10_000
    assert os.path.abspath(logdir) in stdout


def test_summary_tells_the_tank_story(demo_run):
    _, stdout, _, _ = demo_run
    (conf_val, conf_probe, conf_swapped), conf_shares = _summary_row(
        stdout, "tank_confounded")
    (clean_val, clean_probe, clean_swapped), clean_shares = _summary_row(
        stdout, "tank_clean")
    assert len(conf_shares) == len(clean_shares) == 3  # one per method
    # The confounded model looks at the background (the sky) more.
    assert sum(conf_shares) / 3 > sum(clean_shares) / 3
    assert "The confounded model puts a larger share" in stdout
    # ...and fails where the confound is broken, unlike the clean one.
    assert conf_val >= 90 and conf_swapped <= 20
    assert clean_swapped >= 75 and clean_probe > conf_probe


def test_rerun_replaces_the_runs_and_refuses_foreign_dirs(tmp_path):
    from demo.__main__ import clear_previous_runs

    (tmp_path / "digits" / "train").mkdir(parents=True)
    (tmp_path / "tank_clean").mkdir()
    (tmp_path / "tank_clean" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="another --logdir"):
        clear_previous_runs(str(tmp_path), RUNS)
    (tmp_path / "tank_clean" / "notes.txt").unlink()
    assert clear_previous_runs(str(tmp_path), RUNS) == ["digits", "tank_clean"]
    assert not (tmp_path / "digits").exists()


def test_serve_prints_the_tab_url_and_stops_on_ctrl_c(tmp_path):
    code = ("import sys; from demo.serve import serve; "
            "sys.exit(serve(sys.argv[1]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, env=_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = _wait_for_line(proc, r"http://127\.0\.0\.1:(\d+)/#picasso", seconds=120)
        import urllib.request
        port = int(re.search(r":(\d+)/", url).group(1))
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/data/plugins_listing" % port,
                timeout=10) as response:
            assert response.status == 200
            # The tab the printed URL points at is there.
            assert "picasso" in json.loads(response.read())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "Stopping TensorBoard" in out
    # TensorBoard is gone: the port no longer answers.
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2)
