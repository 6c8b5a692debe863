"""``python -m demo``: train the demo's models with the Picasso callback,
print a summary, and open TensorBoard on the Picasso tab."""

import argparse
import os
import shutil
import sys
import time

# Quiet TensorFlow's C++ start-up notes unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_LOGDIR = "picasso_demo_logs"
# What a previous demo run leaves in a run directory.
_RUN_CONTENT = {"train", "validation", "picasso"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Train small image classifiers with the Picasso callback "
                    "(handwritten digits, and the tank story: one model on "
                    "scenes where the sky gives the class away, one on clean "
                    "scenes), then open TensorBoard on the Picasso tab.")
    parser.add_argument("--logdir", default=DEFAULT_LOGDIR,
                        help="where to write the runs (default: ./%(default)s)")
    parser.add_argument("--port", type=int, default=0,
                        help="TensorBoard's port on 127.0.0.1 (default: 0, a "
                             "free port)")
    parser.add_argument("--no-serve", action="store_true",
                        help="train and log only; do not start TensorBoard")
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs and images (for tests)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535, got %d" % args.port)
    return args


def clear_previous_runs(logdir, names):
    """Remove the demo's own run directories from an earlier run.

    Only directories that hold nothing but what the demo writes are removed;
    anything else stops the demo with a message, so no user data is lost.
    """
    found = []
    for name in names:
        path = os.path.join(logdir, name)
        if not os.path.exists(path):
            continue
        if not os.path.isdir(path) or not set(os.listdir(path)) <= _RUN_CONTENT:
            raise SystemExit(
                "%s exists and does not look like a run of this demo; pass "
                "another --logdir" % path)
        found.append(name)
    for name in found:
        shutil.rmtree(os.path.join(logdir, name))
    return found


def main(argv=None):
    args = parse_args(argv)
    from demo import train

    settings = train.Settings.quick() if args.quick else train.Settings()
    logdir = args.logdir
    try:
        removed = clear_previous_runs(logdir, train.RUN_NAMES)
        if removed:
            print("Replacing the previous demo runs in %s: %s"
                  % (logdir, ", ".join(removed)))
        start = time.time()
        results = train.run_all(logdir, settings)
        print(train.format_summary(results, settings))
        print("\nTrained in %.0f s. Logs: %s (runs %s)"
              % (time.time() - start, os.path.abspath(logdir),
                 ", ".join(train.RUN_NAMES)))
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    if args.no_serve:
        print("To look at them: tensorboard --logdir %s   (then open the "
              "Picasso tab)" % logdir)
        return 0
    from demo import serve

    return serve.serve(logdir, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
