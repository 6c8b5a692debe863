#!/usr/bin/env bash
# The tensorboard-picasso demo, in one command:
#   ./run_demo.sh [--logdir DIR] [--port N] [--no-serve] [--quick]
# Creates .venv in the repository on first use, installs the package with its
# `demo` extra (TensorFlow, scikit-learn) into it, trains the demo's models
# with the Picasso callback, and starts TensorBoard on the Picasso tab.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$repo/.venv"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "Creating a virtual environment in $venv ..."
    if ! python3 -m venv "$venv"; then
        echo "python3 -m venv failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
        rm -rf "$venv"
        exit 1
    fi
fi

# Install (again) only when pyproject.toml changed since the last install.
stamp="$venv/.tensorboard_picasso_demo_installed"
want="$(cksum < "$repo/pyproject.toml")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing tensorboard-picasso[demo] into .venv (the first time takes a few minutes) ..."
    "$py" -m pip install -q --disable-pip-version-check -e "$repo[demo]"
    echo "$want" > "$stamp"
fi

export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" -m demo "$@"
