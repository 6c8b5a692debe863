"""The write side: Picasso summaries and their storage format.

`layout` (names, tags, blob positions), `codec` (byte encodings), `records` (what is
stored), `headers` (reading the JSON blobs back) and `pb` (TF-free Summary protos) import
no TensorFlow; the tf.summary-style ops in `ops` do. Everything exported here is imported
on first use, so `import tensorboard_picasso.summary.layout` stays light (no NumPy).
"""

import importlib

_EXPORTS = {
    **{name: "tensorboard_picasso.summary.pb" for name in (
        "explanation_pb", "gradcam_pb", "occlusion_pb", "probabilities_pb", "probes_pb",
        "saliency_pb", "round_summary", "scalar_value", "record_pb")},
    **{name: "tensorboard_picasso.summary.ops" for name in (
        "explanation", "gradcam", "occlusion", "probabilities", "probe_images",
        "saliency")},
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tensorboard_picasso.summary' has no attribute {name!r}")
