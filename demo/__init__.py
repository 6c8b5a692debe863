"""The tensorboard-picasso demo: train small image classifiers with the Picasso
callback, then open TensorBoard on the Picasso tab.

Run it with ``python -m demo`` (or ``./run_demo.sh`` from the repository root,
which also sets up a virtual environment). Modules, one concern each:

- :mod:`demo.datasets`: the data (scikit-learn's handwritten digits and the
  generated "tank" images), made locally, nothing downloaded.
- :mod:`demo.models`: the small CNNs.
- :mod:`demo.train`: training with the callbacks, and the printed summary.
- :mod:`demo.serve`: starting TensorBoard on a free local port.
"""
