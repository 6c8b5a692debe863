#!/usr/bin/env bash
# Every test, from a fresh machine: installs Chromium (Debian) and the Python packages
# into .venv, runs pytest, then the floor check. Extra arguments go to pytest; with test
# paths among them only those run (and no floor check).
#
# The floor check: the oldest TensorFlow, Keras, NumPy and TensorBoard that pyproject.toml
# declares (tests/floor_requirements.txt), on Python 3.10, in .venv-floor, running the
# tests that need neither JAX nor PyTorch nor a browser. Skipped, saying so, when no
# python3.10 is found (PICASSO_FLOOR_PYTHON names another interpreter).
set -euo pipefail
cd "$(dirname "$0")"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# PyTorch's CPU build first, so that the `test` extra's torch range is already met: PyPI's
# torch for Linux x86_64 carries CUDA (gigabytes). This machine's pip finds the CPU wheel
# torch 2.13.0+cpu in its find-links; elsewhere set TORCH_REQUIREMENT (or preinstall one).
.venv/bin/python -m pip install -q "${TORCH_REQUIREMENT:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[test]"

paths=0
for arg in "$@"; do
  case "$arg" in -*) ;; *) [ -e "${arg%%::*}" ] && paths=1 ;; esac
done
if [ "$paths" = 1 ]; then
  exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
fi
.venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"

floor_python="${PICASSO_FLOOR_PYTHON:-}"
if [ -z "$floor_python" ]; then   # python3.10 on PATH, or pyenv's (its shim may refuse)
  for candidate in python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10; do
    if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
      floor_python="$candidate"
      break
    fi
  done
fi
if [ -z "$floor_python" ]; then
  echo "floor check skipped: no python3.10 (set PICASSO_FLOOR_PYTHON)"
  exit 0
fi
stamp=.venv-floor/.installed
want="$(cat tests/floor_requirements.txt pyproject.toml | cksum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  rm -rf .venv-floor
  "$floor_python" -m venv .venv-floor
  .venv-floor/bin/python -m pip install -q --upgrade pip
  .venv-floor/bin/python -m pip install -q -r tests/floor_requirements.txt
  .venv-floor/bin/python -m pip install -q --no-deps -e .
  echo "$want" > "$stamp"
fi
echo "floor check: $(.venv-floor/bin/python -c 'import sys, numpy, keras, tensorflow, tensorboard; print("Python", sys.version.split()[0], "TensorFlow", tensorflow.__version__, "Keras", keras.__version__, "NumPy", numpy.__version__, "TensorBoard", tensorboard.__version__)' 2>/dev/null)"
exec .venv-floor/bin/python -m pytest -q -p no:cacheprovider tests/test_methods.py \
  tests/test_quality.py tests/test_format.py tests/test_readme.py
