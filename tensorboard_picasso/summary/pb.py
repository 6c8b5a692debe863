"""TF-free builders of Picasso `Summary` protos.

For writers other than tf.summary: `torch.utils.tensorboard.SummaryWriter` (via
`writer.file_writer.add_summary(summary, step)`) or TensorBoard's own EventFileWriter.
Each returns a `tensorboard.compat.proto.summary_pb2.Summary` with one value.
"""

from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tensorboard_picasso.summary import format as fmt


def metadata_proto(content):
    """SummaryMetadata for the Picasso plugin with BLOB_SEQUENCE data class."""
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=fmt.PLUGIN_NAME, content=content),
        data_class=summary_pb2.DATA_CLASS_BLOB_SEQUENCE)


def record_pb(record):
    """A Summary proto holding one (tag, metadata content, blobs) record."""
    tag, content, blobs = record
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, string_val=blobs,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(blobs))]))
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=metadata_proto(content), tensor=tensor)])


def probes_pb(images, labels=None, class_names=None, value_range=None):
    """The probe images (N, H, W, C), written once per run."""
    return record_pb(fmt.probes_record(images, labels, class_names, value_range))


def explanation_pb(method, maps, targets, signed=False, params=None, seconds=None):
    """Maps (N, T, H, W) of any method, built-in or registered, for targets (N, T)."""
    return record_pb(fmt.map_record(method, maps, targets, signed, params, seconds))


def occlusion_pb(maps, targets, params=None):
    """Occlusion maps (signed: positive = evidence for the class)."""
    return explanation_pb("occlusion", maps, targets, True, params)


def saliency_pb(maps, targets, params=None, signed=False):
    """Saliency maps (signed only with the "signed" channel reduction)."""
    return explanation_pb("saliency", maps, targets, signed, params)


def gradcam_pb(maps, targets, params=None):
    """Grad-CAM maps (non-negative)."""
    return explanation_pb("gradcam", maps, targets, False, params)


def probabilities_pb(classes, probabilities):
    """Top-k classes (N, k) and their probabilities (N, k), most probable first."""
    return record_pb(fmt.predictions_record(classes, probabilities))
