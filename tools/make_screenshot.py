"""Writes docs/screenshot.png: the demo's tank story in the Picasso tab.

Run once when the tab or the demo changes (needs the test extra: Playwright and Debian's
Chromium):
    python tools/make_screenshot.py [--logdir DIR]    (default: trains the demo first)

The view: Grad-CAM, run vs run at the last epoch on a probe whose sky gives the wrong
answer (a tank under a light sky) — the model trained where a dark sky meant "tank" (A)
against the one trained on clean scenes (B) — both maps of the image's true class,
"tank", on one scale, and B − A on that scale, over the grid of the confounded run.
"""

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshot.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEW = {"run": "tank_confounded/picasso", "method": "gradcam", "compare": "runs",
        "a": "tank_confounded/picasso", "b": "tank_clean/picasso", "image": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--logdir", help="the demo's logs (default: train them now)")
    args = parser.parse_args()
    logdir = args.logdir
    if logdir is None:
        logdir = tempfile.mkdtemp(prefix="picasso_demo_")
        subprocess.run([sys.executable, "-m", "demo", "--no-serve", "--logdir", logdir],
                       cwd=REPO, check=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", logdir,
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(base + "data/plugin/picasso/index", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("TensorBoard did not start") from None
                time.sleep(0.5)
        state = "".join(f"&{urllib.parse.quote('p.picasso.' + key)}="
                        f"{urllib.parse.quote(str(value), safe='')}"
                        for key, value in VIEW.items())
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}#picasso{state}")
            frame = next(f for f in _frames(page) if "name=picasso" in f.url)
            frame.wait_for_function("document.body?.dataset.picassoState === 'ready'",
                                    timeout=60000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(OUT))
            browser.close()
        print(f"wrote {OUT}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _frames(page, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        yield from page.frames
        page.wait_for_timeout(100)


if __name__ == "__main__":
    main()
