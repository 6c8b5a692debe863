"""A run's earlier rounds read back from its event files (TF-free): a resumed fit
(`initial_epoch > 0`, or a new process logging into the same `log_dir`) continues its run
instead of starting it over — the probes are not written twice, the drift references stay
the run's first and latest maps, and "before training" is not logged for a model that is
not untrained.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os

import numpy as np
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

from tensorboard_picasso.summary import codec, layout


@dataclasses.dataclass
class RunHistory:
    """What a run's event files hold.

    probe_hashes: the content hash of each probe image (the latest probes written).
    last_step: the newest step logged.
    maps: {method: {step: (header dict, block bytes)}}.
    """

    probe_hashes: list[str]
    last_step: int | None
    maps: dict[str, dict[int, tuple[dict, bytes]]]

    @classmethod
    def read(cls, run_dir: str) -> "RunHistory | None":
        """The history of `run_dir`, or None when it holds no Picasso round."""
        paths = sorted(glob.glob(os.path.join(run_dir, "*tfevents*")))
        hashes: list[str] = []
        maps: dict[str, dict[int, tuple[dict, bytes]]] = {}
        steps: list[int] = []
        for path in paths:
            try:
                events = list(EventFileLoader(path).Load())
            except Exception:  # noqa: BLE001 - an unreadable file is not a history
                continue
            for event in events:
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name != layout.PLUGIN_NAME:
                        continue
                    blobs = list(tensor_util.make_ndarray(value.tensor).reshape(-1))
                    try:
                        if value.tag == layout.PROBES_TAG:
                            header = json.loads(layout.probes_header(blobs))
                            hashes = [image["hash"] for image in header["images"]]
                        method = layout.method_of_tag(value.tag)
                        if method is not None:
                            header = json.loads(layout.map_header(blobs))
                            maps.setdefault(method, {})[event.step] = (
                                header, bytes(layout.map_block(blobs)))
                            steps.append(event.step)
                    except (ValueError, KeyError, TypeError):
                        continue
        if not hashes and not maps:
            return None
        return cls(hashes, max(steps) if steps else None, maps)

    def first_and_last_maps(self, method: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The first map of each image (N, H, W) at the run's first and last step of
        `method`, or None when the run has none (or they cannot be decoded)."""
        steps = self.maps.get(method)
        if not steps:
            return None
        try:
            return self._first_maps(*steps[min(steps)]), self._first_maps(*steps[max(steps)])
        except (ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _first_maps(header: dict, block: bytes) -> np.ndarray:
        ranges = [r for per_image in header["ranges"] for r in per_image]
        maps = codec.decode_maps(block, ranges, header["height"], header["width"])
        counts = [len(t) for t in header["targets"]]
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
        return maps[first]
