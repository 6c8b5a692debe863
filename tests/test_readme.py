"""The README's Python snippets run as a new user would paste them."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_callback_snippet_trains_and_logs(tmp_path, monkeypatch):
    snippet = next(b for b in python_blocks() if "PicassoCallback(log_dir" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README.md", "exec"), {})
    run = tmp_path / "logs" / "readme_example"
    assert (run / "train").is_dir() and any((run / "picasso").iterdir())


def test_readme_register_method_snippet(tmp_path):
    snippet = next(b for b in python_blocks() if "register_method(" in b)
    exec(compile(snippet, "README.md", "exec"), {})
    from tensorboard_picasso.methods import available_methods
    assert "brightness" in available_methods()


def test_readme_names_the_test_command_that_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    assert "./run_tests.sh" in ci and "./run_tests.sh" in README.read_text()
