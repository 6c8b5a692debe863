"""What the callback costs a real fit, with its default settings (budget 0.1, occlusion +
saliency, drift + faithfulness):

* fit time with the callback / without (each fit in a fresh process, the two
  interleaved, best of `--repeats`), how many epochs were logged, and the fit's time
  minus Picasso's own (training slowed by something else, e.g. a loaded machine);
* the quality metrics' seconds / the maps' own seconds, summed over the logged rounds;
* traces per compiled function over the fit (1 = traced once);
* the first training batch of each epoch, after a round and without one (a stall after
  a round would show here).

Cases: MobileNetV2 (weights=None) at 128x128, 1,000 images per epoch, batch 32,
16 probes, 5 epochs; and the README's small CNN at 64x64.

Run: python benchmarks/fit_overhead.py [--repeats 2] [--case mobilenet|small]
"""

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {"mobilenet": dict(side=128, images=1000, epochs=5),
         "small": dict(side=64, images=1000, epochs=5)}


def fit(case, with_callback):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras

    settings = CASES[case]
    side = settings["side"]
    rng = np.random.default_rng(0)
    x = rng.random((settings["images"], side, side, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0.5).astype("int64")
    keras.utils.set_random_seed(0)
    if case == "mobilenet":
        model = keras.applications.MobileNetV2(input_shape=(side, side, 3), weights=None,
                                               classes=2)
    else:
        model = keras.Sequential([
            keras.Input((side, side, 3)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    first_batches = []

    class FirstBatch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.seen = time.perf_counter(), False

        def on_train_batch_end(self, batch, logs=None):
            if not self.seen:
                first_batches.append(time.perf_counter() - self.start)
                self.seen = True
    callbacks = [FirstBatch()]
    picasso = None
    if with_callback:
        import tempfile

        from tensorboard_picasso import PicassoCallback
        picasso = PicassoCallback(tempfile.mkdtemp(), x[:16], y[:16], verbose=0)
        callbacks.insert(0, picasso)
    start = time.perf_counter()
    model.fit(x, y, epochs=settings["epochs"], batch_size=32, verbose=0,
              callbacks=callbacks)
    result = {"seconds": time.perf_counter() - start, "first_batches": first_batches}
    if picasso is not None:
        reports = picasso.reports
        maps = sum(r.forward_seconds + sum(r.method_seconds.values()) for r in reports)
        result.update(steps=[r.step for r in reports if r.written],
                      quality=sum(r.quality_seconds for r in reports) / maps,
                      traces=max(picasso.logger.model.backend.traces.values()),
                      spent=picasso.budget.spent, setup=picasso.budget.setup)
    print(json.dumps(result), flush=True)


def run(case, with_callback):
    out = subprocess.run([sys.executable, __file__, "--fit", case,
                          "with" if with_callback else "without"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    for case in args.case or ["small", "mobilenet"]:
        withs, withouts = [], []
        for _ in range(args.repeats):
            withouts.append(run(case, False))
            withs.append(run(case, True))
        best_with = min(withs, key=lambda r: r["seconds"])
        best_without = min(withouts, key=lambda r: r["seconds"])
        epochs = CASES[case]["epochs"]
        logged = [s for s in best_with["steps"] if s >= 0]
        print(f"{case}: fit with callback / without = "
              f"{best_with['seconds'] / best_without['seconds']:.3f} "
              f"({best_with['seconds']:.1f} s / {best_without['seconds']:.1f} s; target "
              f"<= 1.10); steps logged {best_with['steps']} ({len(logged)} of {epochs} "
              f"epochs); Picasso {best_with['spent']:.1f} s of which tracing "
              f"{best_with['setup']:.1f} s; training alone took "
              f"{best_with['seconds'] - best_with['spent']:.1f} s with the callback",
              flush=True)
        print(f"{case}: quality metrics / maps' compute = {best_with['quality']:.2f} "
              f"(target <= 0.35); max traces per compiled function = "
              f"{best_with['traces']}", flush=True)
        print(f"{case}: first batch of each epoch (s): with "
              f"{[round(t, 2) for t in best_with['first_batches']]}, without "
              f"{[round(t, 2) for t in best_without['first_batches']]}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fit"]:
        fit(sys.argv[2], sys.argv[3] == "with")
    else:
        main()
