"""Plain PyTorch: a torch.nn.Module trained in an ordinary loop with TorchExplanationLogger,
into a log directory, through torch's SummaryWriter and through tensorboardX's; the maps
and quality metrics read back through real TensorBoard processes (both loaders) equal the
methods recomputed on each step's weights. The logger leaves the module as it found it.
The Lightning callback logs into the Trainer's TensorBoard run."""

import copy
import glob
import os
import subprocess
import sys
import textwrap
import urllib.parse
import urllib.request

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from conftest import CLASS_NAMES, bar_images
from tensorboard_harness import close_to, decode_block, get_json, tensorboard_process
from tensorboard_picasso.history import RunHistory
from tensorboard_picasso.methods import (GradCAM, IntegratedGradients, Occlusion, Saliency,
                                         SmoothGrad, as_explainable)
from tensorboard_picasso.methods.context import ProbeSet, RoundContext
from tensorboard_picasso.pytorch import TorchExplanationLogger
from tensorboard_picasso.quality.faithfulness import Faithfulness
from tensorboard_picasso.quality.measures import rank_correlation
from tensorboard_picasso.summary import codec
from test_readme import python_blocks

EPOCHS = 3
STEPS = [-1, 0, 1, 2]
PROBES = 5
TARGET = ("predicted", "label")     # ragged: the true class too where the model is wrong
RUNS = {"directory": "directory/picasso", "torch_writer": "torch_writer",
        "tensorboardx_writer": "tensorboardx_writer"}


def methods():
    return [Occlusion(window=4, stride=2), Saliency(), SmoothGrad(samples=4, noise=0.1),
            IntegratedGradients(steps=8), GradCAM()]


def module(seed=0):
    """A small CNN with BatchNorm and dropout (both behave differently in train mode)."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 3))


def nchw(images):
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train one module, logging every round through three loggers (a log directory, a
    torch SummaryWriter, a tensorboardX SummaryWriter). Returns (root log directory,
    probe images NHWC, labels, {step: state_dict})."""
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("torch_logs")
    x, y = bar_images(96)
    probes, labels = x[:PROBES], y[:PROBES]
    model = module()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    torch_writer = SummaryWriter(str(root / "torch_writer"))
    x_writer = XWriter(str(root / "tensorboardx_writer"))
    loggers = [TorchExplanationLogger(target, model, nchw(probes), labels=labels,
                                      class_names=CLASS_NAMES, methods=methods(),
                                      target=TARGET, faithfulness_every=1,
                                      faithfulness_steps=8)
               for target in (str(root / "directory"), torch_writer, x_writer)]
    weights = {}

    def log(step):
        weights[step] = copy.deepcopy(model.state_dict())
        for logger in loggers:
            assert logger.log(step, epoch=None if step < 0 else step).written

    log(-1)
    images, targets = nchw(x), torch.from_numpy(y)
    for epoch in range(EPOCHS):
        model.train()
        for start in range(0, len(x), 16):
            loss = torch.nn.functional.cross_entropy(model(images[start:start + 16]),
                                                     targets[start:start + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        torch_writer.add_scalar("epoch_loss", loss.item(), epoch)
        x_writer.add_scalar("epoch_loss", loss.item(), epoch)
        log(epoch)
    for logger in loggers:
        logger.close()
    torch_writer.close()
    x_writer.close()
    return root, probes, labels, weights


def recomputed(probes, labels, state):
    """{method: (targets per image, maps per image, first maps (N, H, W))} and the
    quality context for the module with `state`."""
    model = module()
    model.load_state_dict(state)
    model.eval()
    out = {}
    for method in methods():
        explanation = method.explain(model, probes, target=TARGET, labels=labels)
        first = np.stack([maps[0] for maps in explanation.maps])
        out[method.name] = (explanation.targets, explanation.maps, first)
    explainable = as_explainable(model)
    return out, RoundContext(explainable, ProbeSet.create(explainable, probes))


@pytest.fixture(scope="module")
def expected(trained):
    _, probes, labels, weights = trained
    return {step: recomputed(probes, labels, state) for step, state in weights.items()}


def _ready(index):
    runs = {r["run"]: r for r in index["runs"]}
    return set(RUNS.values()) <= set(runs) and all(
        len(runs[run]["methods"]) == 5 and all(m["steps"] == STEPS
                                               for m in runs[run]["methods"])
        for run in RUNS.values())


@pytest.fixture(scope="module", params=["true", "false"], ids=lambda v: f"load_fast={v}")
def server(request, trained):
    with tensorboard_process(trained[0], request.param, ready=_ready) as base:
        yield base


def _get_bytes(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        return response.read()


@pytest.mark.parametrize("run", RUNS.values())
def test_maps_read_back_through_tensorboard_equal_the_methods_recomputed(
        server, run, expected):
    for method in ("occlusion", "saliency", "smoothgrad", "integrated_gradients",
                   "gradcam"):
        for step in STEPS:
            query = urllib.parse.urlencode({"run": run, "method": method, "step": step})
            header, maps = decode_block(_get_bytes(f"{server}data/plugin/picasso/block?"
                                                   + query))
            targets, truth, _ = expected[step][0][method]
            assert header["targets"] == [list(t) for t in targets], (run, method, step)
            assert header["epoch"] == (None if step < 0 else step)
            for decoded, maps_of_image in zip(maps, truth):
                assert np.ptp(maps_of_image) > 0
                assert close_to(decoded, maps_of_image), (run, method, step)


@pytest.mark.parametrize("run", RUNS.values())
def test_quality_metrics_in_the_series_equal_the_recomputed_ones(server, run, expected):
    faithfulness = Faithfulness(steps=8)
    for method in ("saliency", "gradcam"):
        status, series = get_json(f"{server}data/plugin/picasso/series?" +
                                  urllib.parse.urlencode({"run": run, "method": method}))
        assert status == 200 and series["steps"] == STEPS
        metrics = series["metrics"]
        first = {step: expected[step][0][method][2] for step in STEPS}
        for i, step in enumerate(STEPS):
            maps, context = first[step], expected[step][1]
            classes = np.array([t[0] for t in expected[step][0][method][0]])
            auc = faithfulness.auc(context, maps, classes)
            for name in ("deletion_auc", "insertion_auc"):
                np.testing.assert_allclose(metrics[name]["images"][i], auc[name],
                                           atol=1e-4, err_msg=f"{run} {method} {name}")
            if i == 0:
                assert metrics["drift_previous"]["images"][0] is None
                continue
            for name, reference in (("drift_previous", first[STEPS[i - 1]]),
                                    ("drift_untrained", first[STEPS[0]])):
                rho = rank_correlation(maps, reference)
                np.testing.assert_allclose(metrics[name]["images"][i], rho, atol=1e-4)
                assert metrics[name]["mean"][i] == pytest.approx(rho.mean(), abs=1e-4)


@pytest.mark.parametrize("run", ["torch_writer", "tensorboardx_writer"])
def test_the_writers_own_scalars_and_picassos_share_the_run(server, run):
    status, index = get_json(f"{server}data/plugin/scalars/tags")
    assert status == 200
    tags = index[run]
    assert "epoch_loss" in tags and "picasso/saliency/drift_previous" in tags


def test_a_round_leaves_the_module_as_it_was(tmp_path):
    model = module()
    model.train()
    x, y = bar_images(PROBES)
    for p in list(model.parameters())[:2]:
        p.grad = torch.full_like(p, 7.0)
    grads = {name: None if p.grad is None else p.grad.clone()
             for name, p in model.named_parameters()}
    statistics = {name: b.clone() for name, b in model.named_buffers()}
    logger = TorchExplanationLogger(str(tmp_path), model, nchw(x), labels=y,
                                    methods=methods())
    assert logger.log(0).written
    assert model.training and all(m.training for m in model.modules())
    for name, p in model.named_parameters():
        if grads[name] is None:
            assert p.grad is None, name
        else:
            assert torch.equal(p.grad, grads[name]), name
    for name, b in model.named_buffers():   # BatchNorm ran in eval mode: stats untouched
        assert torch.equal(b, statistics[name]), name
    model.eval()
    assert logger.log(1).written and not model.training


def test_readme_pytorch_snippet_runs_without_tensorflow_or_keras(tmp_path):
    snippet = next(b for b in python_blocks() if "TorchExplanationLogger(log_dir" in b)
    (tmp_path / "snippet.py").write_text(textwrap.dedent("""\
        import sys
        sys.modules["tensorflow"] = sys.modules["keras"] = None   # unimportable
        """) + snippet + "\nassert sys.modules['tensorflow'] is None\n")
    done = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, PYTHONPATH=""))
    assert done.returncode == 0, done.stderr[-3000:]
    history = RunHistory.read(str(tmp_path / "logs" / "torch_example" / "picasso"))
    assert {m: sorted(s) for m, s in history.maps.items()} == {
        m: [-1, 0, 1, 2] for m in ("occlusion", "saliency", "gradcam")}
    assert list((tmp_path / "logs" / "torch_example" / "train").glob("*tfevents*"))


def test_lightning_callback_logs_into_the_trainers_tensorboard_run(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    from tensorboard_picasso.lightning import PicassoLightningCallback

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = module()

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            loss = torch.nn.functional.cross_entropy(self(batch[0]), batch[1])
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2)

    x, y = bar_images(64)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(nchw(x), torch.from_numpy(y)), batch_size=16)
    model = Classifier()
    callback = PicassoLightningCallback(nchw(x[:PROBES]), labels=y[:PROBES],
                                        methods=["saliency", "gradcam"])
    trainer = pl.Trainer(max_epochs=2, default_root_dir=str(tmp_path), accelerator="cpu",
                         callbacks=[callback], enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False,
                         log_every_n_steps=1)
    trainer.fit(model, loader)
    run = trainer.logger.log_dir           # the TensorBoardLogger's run: loss and maps
    history = RunHistory.read(run)
    steps = {m: sorted(s) for m, s in history.maps.items()}
    assert steps == {m: [-1, 4, 8] for m in ("saliency", "gradcam")}   # global steps
    assert [history.maps["gradcam"][s][0]["epoch"] for s in (4, 8)] == [0, 1]
    final = Saliency().explain(model.net, x[:PROBES], target=TARGET, labels=y[:PROBES])
    header, block = history.maps["saliency"][8]
    assert header["targets"] == [list(t) for t in final.targets]
    decoded = codec.decode_maps(block, [r for per in header["ranges"] for r in per],
                                header["height"], header["width"])
    assert close_to(decoded, np.concatenate(final.maps))
    tags = {value.tag for path in glob.glob(os.path.join(run, "*tfevents*"))
            for event in EventFileLoader(path).Load() for value in event.summary.value}
    assert {"train_loss", "picasso/saliency/drift_previous"} <= tags
