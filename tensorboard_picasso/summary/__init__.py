"""The write side: Picasso summaries and their storage format.

`format` (the format and its reader) and `pb` (TF-free Summary builders) import no
TensorFlow; the tf.summary-style ops in `ops` do and are imported lazily from here.
"""

from tensorboard_picasso.summary.pb import (explanation_pb, gradcam_pb, occlusion_pb,
                                            probabilities_pb, probes_pb, saliency_pb)

__all__ = ["explanation_pb", "gradcam_pb", "occlusion_pb", "probabilities_pb", "probes_pb",
           "saliency_pb", "explanation", "gradcam", "occlusion", "probabilities",
           "probe_images", "saliency"]
_OPS = ("explanation", "gradcam", "occlusion", "probabilities", "probe_images", "saliency")


def __getattr__(name):
    if name in _OPS:
        from tensorboard_picasso.summary import ops

        return getattr(ops, name)
    raise AttributeError(f"module 'tensorboard_picasso.summary' has no attribute {name!r}")
