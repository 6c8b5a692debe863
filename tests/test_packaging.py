"""The release: the sdist (and the wheel built from it, as `python -m build` does) holds
what the tests and the tab need, the metadata names the licence, version, entry point and
extras, and the tests run from the unpacked sdist."""

import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import tensorboard_picasso

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = {"tf", "jax", "torch", "lightning", "demo", "test"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """(sdist path, wheel path), built from this tree like a release."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel


def _tracked(pattern):
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)
                  if "__pycache__" not in p.parts)


def test_sdist_holds_the_tests_the_tab_and_the_release_files(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name[len(top) + 1:] for name in archive.getnames()}
    needed = (["LICENSE", "README.md", "pyproject.toml", "run_tests.sh", "run_demo.sh",
               ".ci/run", "docs/http_api.md", "tests/floor_requirements.txt"]
              + _tracked("tests/*.py") + _tracked("tests/vendor/*") + _tracked("tools/*.py")
              + _tracked("demo/*.py")
              + _tracked("tensorboard_picasso/static/*"))
    assert {"tensorboard_picasso/static/colormaps.json",
            "tensorboard_picasso/static/index.js",
            "tensorboard_picasso/static/style.css"} <= set(needed)
    missing = sorted(set(needed) - names)
    assert not missing, f"the sdist lacks {missing}"
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/artifacts")]


def test_wheel_metadata_names_version_licence_entry_point_and_extras(dist):
    _, wheel = dist
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == "tensorboard-picasso"
    assert metadata["Version"] == tensorboard_picasso.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert f"{info}/licenses/LICENSE" in names
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "## Add it to your own `model.fit`" in metadata.get_payload()
    assert metadata.get_all("Project-URL") and metadata.get_all("Classifier")
    assert set(metadata.get_all("Provides-Extra")) == EXTRAS
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("numpy>=") and "extra" not in r for r in requires)
    assert any(r.startswith("tf_keras") and 'extra == "test"' in r for r in requires)
    assert not any(r.startswith("tensorflow-cpu") for r in requires)   # one TF, every OS
    assert "[tensorboard_plugins]" in entry_points
    assert "picasso = tensorboard_picasso.plugin_loader:PicassoLoader" in entry_points
    for name in ("colormaps.json", "index.js", "style.css"):
        assert f"tensorboard_picasso/static/{name}" in names
    assert not [n for n in names if n.startswith(("tests/", "demo/"))]


def test_the_version_is_written_in_one_place():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert tensorboard_picasso.__version__ not in pyproject


def test_tests_run_from_the_unpacked_sdist(dist, tmp_path):
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    env = dict(os.environ, PYTHONPATH=str(unpacked))    # the sdist's package, not ours
    done = subprocess.run([sys.executable, "-c", "import tensorboard_picasso as p; "
                           "print(p.__file__)"], cwd=unpacked, env=env, capture_output=True,
                          text=True, timeout=60)
    assert Path(done.stdout.strip()).is_relative_to(unpacked)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_format.py",
         "tests/test_readme.py::test_readme_names_the_test_command_that_ci_runs"],
        cwd=unpacked, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout.splitlines()[-1]


def _table_row(label):
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def _floor_pins():
    pins = {}
    for line in (ROOT / "tests" / "floor_requirements.txt").read_text().splitlines():
        requirement = line.split(";")[0].strip()
        if "==" in requirement and not line.startswith("#"):
            name, version = requirement.split("==")
            pins[name.lower()] = version
    return pins


def test_readme_compatibility_table_is_what_this_run_uses():
    import platform
    from importlib.metadata import version

    python, tf, keras, jax, torch, tensorboard, numpy, tensorboardx = _table_row(
        "whole suite")
    assert python == platform.python_version()
    assert tf == version("tensorflow")
    assert keras == f"{version('keras')} (TensorFlow, JAX, PyTorch)"
    assert (jax, torch, tensorboard) == (version("jax"), version("torch"),
                                         version("tensorboard"))
    assert (numpy, tensorboardx) == (version("numpy"), version("tensorboardX"))
    readme = (ROOT / "README.md").read_text()
    assert f"PyTorch Lightning {version('lightning')}" in readme
    assert f"(`tf_keras` {version('tf_keras')})" in readme
    pins = _floor_pins()
    python, tf, keras, jax, torch, tensorboard, numpy, _ = _table_row("floor check")
    assert python.startswith("3.10.")       # run_tests.sh's floor interpreter
    assert (tf, keras, tensorboard, numpy) == (
        pins["tensorflow-cpu"], f"{pins['keras']} (TensorFlow)", pins["tensorboard"],
        pins["numpy"])
    assert pins["tensorflow"] == pins["tensorflow-cpu"]


def test_declared_floors_are_the_floor_checks_versions():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _floor_pins()
    floors = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["tf"]:
        name, floor = requirement.split(">=")
        floors[name.lower()] = floor
    assert set(floors) == {"tensorboard", "numpy", "pillow", "werkzeug", "protobuf",
                           "tensorflow", "keras"}
    for name, floor in floors.items():
        assert pins["tensorflow-cpu" if name == "tensorflow" else name] == floor, name
    assert project["requires-python"] == ">=3.10"
