"""Checks of what users pass in: probe images and model outputs (no model library)."""

from __future__ import annotations

import numpy as np


def check_finite(values: np.ndarray, what: str) -> None:
    """Raise a ValueError naming `what` when `values` holds NaN or inf."""
    bad = ~np.isfinite(values)
    if bad.any():
        rows = sorted(set(np.nonzero(bad)[0].tolist()))[:10]
        raise ValueError(
            f"{what} contains NaN or inf (rows {rows}); check the model's weights, the "
            "images' value range and preprocess")


def check_images(images: object, input_shape: tuple[int | None, ...] | None = None
                 ) -> np.ndarray:
    """Validate a probe batch: numeric, finite, (N, H, W, C), one size, fits the model."""
    if isinstance(images, (list, tuple)):
        shapes = {np.shape(im) for im in images}
        if len(shapes) > 1:
            raise ValueError(
                f"images have mixed sizes {sorted(shapes)}; resize them to the model's "
                "input size before passing them")
    try:
        array = np.asarray(images)
    except ValueError as err:
        raise ValueError(f"images could not be stacked into one array ({err}); pass an "
                         "array of shape (N, H, W, C)") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise ValueError(f"images must be a numeric array, got dtype {array.dtype}; "
                         "convert them to float32")
    if array.ndim == 3 and input_shape is not None and len(input_shape) == 3:
        channels = input_shape[2]
        if array.shape[1:] == tuple(input_shape[:2]) and channels not in (None, 1):
            raise ValueError(
                f"images has shape {array.shape}: grey images (N, H, W) but the model "
                f"takes {channels} channels; convert them, e.g. "
                f"np.repeat(images[..., None], {channels}, axis=-1)")
        if array.shape[1:] == tuple(input_shape[:2]):
            raise ValueError(f"images has shape {array.shape}: grey images (N, H, W); add "
                             "the channel axis with images[..., None]")
        raise ValueError(
            f"images has shape {array.shape}: a batch of images must be 4-D "
            f"(N, H, W, C); for one image use images[None] or np.expand_dims(image, 0)")
    if array.ndim != 4:
        raise ValueError(f"images must be 4-D (N, H, W, C), got shape {array.shape}; add a "
                         "channel axis for grey images (images[..., None])")
    if array.shape[0] == 0:
        raise ValueError("images is empty; pass at least one probe image")
    if input_shape is not None:
        for axis, (got, want) in enumerate(zip(array.shape[1:], input_shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"images have shape {array.shape[1:]} but the model expects "
                    f"{tuple(input_shape)} (axis {axis + 1}); resize or reshape the images")
    array = array.astype(np.float32)
    check_finite(array.reshape(len(array), -1), "images")
    return array
