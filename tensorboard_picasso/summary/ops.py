"""Picasso summary ops in the tf.summary style: write under the default writer at `step`.

    writer = tf.summary.create_file_writer(os.path.join(log_dir, "picasso"))
    with writer.as_default():
        probe_images(images, labels, class_names, step=-1)
        explanation(Occlusion().explain(model, images), step=0)

Each returns True on success, False when no default writer is set (as tf.summary does).
"""

import tensorflow as tf

from tensorboard_picasso.summary import format as fmt
from tensorboard_picasso.summary.pb import metadata_proto


def write_record(record, step=None):
    """Write one (tag, metadata content, blobs) record with tf.summary.write."""
    tag, content, blobs = record
    return tf.summary.write(tag, tf.constant(blobs, dtype=tf.string), step=step,
                            metadata=metadata_proto(content).SerializeToString())


def probe_images(images, labels=None, class_names=None, step=None, value_range=None):
    """The probe images (N, H, W, C); write them once per run."""
    return write_record(fmt.probes_record(images, labels, class_names, value_range), step)


def explanation(explanation, step=None, signed=None, seconds=None, epoch=None,
                batch=None):
    """An `Explanation` of any method, built-in or registered (generic op).

    `signed` defaults to the registered method's own `signed`.
    """
    if signed is None:
        from tensorboard_picasso.methods import get_method

        signed = get_method(explanation.method).signed
    return write_record(fmt.map_record(
        explanation.method, explanation.maps, explanation.targets, signed,
        explanation.params, seconds, epoch, batch), step)


def _method_op(method, signed):
    def op(maps, targets, step=None, params=None):
        return write_record(fmt.map_record(method, maps, targets, signed, params), step)
    op.__name__ = method
    op.__doc__ = f"{method} maps (N, T, H, W) for targets (N, T) at `step`."
    return op


occlusion = _method_op("occlusion", signed=True)
saliency = _method_op("saliency", signed=False)
gradcam = _method_op("gradcam", signed=False)


def probabilities(classes, probabilities, step=None, epoch=None, batch=None):
    """Top-k classes (N, k) and their probabilities (N, k) at `step`."""
    return write_record(fmt.predictions_record(classes, probabilities, epoch, batch), step)
