"""The `tensorboard_plugins` entry point. Imports nothing heavy: an import error here
would stop TensorBoard from starting, so the plugin itself is imported in `load`, and the
plugin name comes from the format's layout module (standard library only)."""

from __future__ import annotations

from typing import Any

from tensorboard.plugins import base_plugin

from tensorboard_picasso.summary.layout import PLUGIN_NAME

KEEP_ALL = 0  # a sampling hint of 0 keeps every sample, in both of TensorBoard's loaders


class PicassoLoader(base_plugin.TBLoader):
    """Loads the Picasso plugin and keeps every logged checkpoint by default."""

    def fix_flags(self, flags: Any) -> None:
        """Keep all Picasso samples unless the user passed --samples_per_plugin for it.

        TensorBoard otherwise keeps 10 samples per tag for third-party plugins, which
        would silently drop checkpoints.
        """
        hints = getattr(flags, "samples_per_plugin", None)
        if hints is None:
            return
        hints.setdefault(PLUGIN_NAME, KEEP_ALL)

    def load(self, context: base_plugin.TBContext) -> base_plugin.TBPlugin:
        """The plugin, imported now (NumPy and the reader load only when TensorBoard
        starts the plugin)."""
        from tensorboard_picasso.plugin import PicassoPlugin

        return PicassoPlugin(context)
