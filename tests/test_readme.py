"""The README's Python snippets run as a new user would paste them."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_callback_snippet_trains_and_logs(tmp_path, monkeypatch):
    snippet = next(b for b in python_blocks() if "PicassoCallback(log_dir" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    run = tmp_path / "logs" / "readme_example"
    assert (run / "train").is_dir() and any((run / "picasso").iterdir())


def test_readme_register_method_snippet():
    from tensorboard_picasso.methods import available_methods, get_method, unregister_method
    from models import small_cnn

    snippet = next(b for b in python_blocks() if "register_method(" in b)
    unregister_method("brightness")
    try:
        exec(compile(snippet, "README.md", "exec"), {})
        assert "brightness" in available_methods()
        x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
        maps = get_method("brightness").explain(small_cnn(), x).maps
        np.testing.assert_allclose(maps[:, 0], x.mean(-1), rtol=1e-6)
    finally:
        unregister_method("brightness")


def test_readme_names_the_test_command_that_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    assert "./run_tests.sh" in ci and "./run_tests.sh" in README.read_text()
