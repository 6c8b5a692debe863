"""Distribution `tensorboard-picasso`: a TensorBoard plugin and a Keras callback."""
from setuptools import find_packages, setup

setup(
    name="tensorboard-picasso",
    version="0.1.0",
    description="See what an image classifier looks at while it trains, in TensorBoard.",
    packages=find_packages(include=["tensorboard_picasso", "tensorboard_picasso.*"]),
    package_data={"tensorboard_picasso": ["static/*.js", "static/*.css"]},
    python_requires=">=3.10",
    # The TensorBoard side: the plugin reads logs without TensorFlow.
    install_requires=["tensorboard>=2.16", "numpy", "pillow", "werkzeug", "protobuf"],
    extras_require={
        # The training side. `pip install tensorboard-picasso` next to an existing
        # TensorFlow install needs no extra; these are for a fresh environment.
        "tf": ["tensorflow-cpu>=2.16"],
        "demo": ["tensorflow-cpu>=2.16", "scikit-learn"],
        "test": ["tensorflow-cpu>=2.16", "scikit-learn", "pytest", "playwright"],
    },
    entry_points={
        "tensorboard_plugins": ["picasso = tensorboard_picasso.plugin_loader:PicassoLoader"],
    },
)
