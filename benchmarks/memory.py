"""Peak memory of each method above the model's own footprint, within the default memory
bound (1 GiB), on real networks: ConvNeXtTiny at 128x128 and MobileNetV2 at 224x224
(weights=None, 16 probe images). Each measurement runs in a process of its own; the
peak resident memory (VmHWM) is reset before the method runs:

    model footprint = RSS after building the model and one pass on one image - before
    method peak      = peak RSS while the round's clean pass and the method run - RSS
                       before them

It also prints the batch the memory bound chose (methods/memory.py) and the bytes per
copy that this implies, from which FORWARD_FACTOR / BACKWARD_FACTOR are calibrated.

Run: python benchmarks/memory.py
"""

import os
import subprocess
import sys

CASES = [("ConvNeXtTiny", 128), ("MobileNetV2", 224)]
METHODS = ["occlusion", "saliency", "smoothgrad", "integrated_gradients", "gradcam"]


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak():
    """Resets the process' peak resident memory (VmHWM) to its current size (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mib():
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def measure(network, side, method, bound):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras

    from tensorboard_picasso.methods import get_method
    from tensorboard_picasso.methods.adapters import as_explainable
    from tensorboard_picasso.methods.context import ProbeSet, RoundContext
    from tensorboard_picasso.methods.targets import Targets

    start = rss_mib()
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, network)(input_shape=(side, side, 3),
                                                 weights=None, classes=10)
    images = (np.random.default_rng(0).random((16, side, side, 3)) * 255).astype("float32")
    explainable = as_explainable(model)
    probes = ProbeSet.create(explainable, images)
    explained = get_method(method)
    explained.validate(explainable, probes)      # profiles the model on one image
    footprint = rss_mib() - start
    context = RoundContext(explainable, probes, memory_bound=bound)
    before = rss_mib()
    reset_peak()
    predicted = Targets.from_array(context.probabilities.argmax(1)[:, None])
    maps = explained.run(explainable, context, predicted)
    peak = peak_mib() - before
    batch = next(iter(explained._batchers.values())).size if getattr(
        explained, "_batchers", None) else None
    activation = explainable.profile(images).activation_bytes / 2**20
    per_copy = peak / batch if batch else float("nan")
    print(f"{network} {side}x{side} {method:<21} model {footprint:7.0f} MiB   peak above "
          f"it {peak:7.0f} MiB   batch {batch}   {per_copy:6.1f} MiB/copy   activations "
          f"{activation:5.1f} MiB/image   maps {maps.shape}", flush=True)


def main():
    bound = int(os.environ.get("PICASSO_MEMORY_BOUND", 1 << 30))
    print(f"memory bound {bound / 2**20:.0f} MiB per method batch", flush=True)
    for network, side in CASES:
        for method in METHODS:
            subprocess.run([sys.executable, __file__, network, str(side), method, str(bound)],
                           check=True)


if __name__ == "__main__":
    if len(sys.argv) == 5:
        measure(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        main()
