"""Where a logging round goes: one TensorBoard event per round, written whole or not at all.

`EventFileWriter` (the default) appends to an event file of its own in the run directory,
with TensorBoard's record framing and no TensorFlow: each round is ONE record (every
summary of the round in one Event), flushed and synced, so a crash loses at most the round
in progress, and TensorBoard never sees half a round. A write that fails (disk full,
permissions) is undone — the file is cut back to its last whole record — and raised as
OSError for the logger to count; no empty files are left behind. When the run directory
disappears mid-training (deleted, or replaced by another), the next round starts a new
file and says so through `reopened`.

`SummaryWriterAdapter` hands the same one-Event rounds to an existing
`torch.utils.tensorboard.SummaryWriter` or tensorboardX `SummaryWriter`.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Protocol

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


class RoundWriter(Protocol):
    """Writes one round's Summary as one event at `step`; raises OSError on failure.
    `run_dir` is the run's directory; `lost_file` says the next write must start a new
    file (the run's earlier rounds are gone), `reopened` that the last write did."""

    run_dir: str
    reopened: bool
    lost_file: bool

    def write(self, step: int, summary: summary_pb2.Summary) -> None: ...

    def close(self) -> None: ...


class EventFileWriter:
    """Appends whole rounds to `<run_dir>/events.out.tfevents.<time>.<host>.<pid>.picasso`.

    Args:
      run_dir: the run's directory (created on the first write).
    """

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.path: str | None = None
        self.reopened = False   # the last write had to start a new file
        self._file: Any = None

    def _open(self) -> None:
        os.makedirs(self.run_dir, exist_ok=True)
        name = (f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}."
                f"{os.getpid()}.picasso")
        path = os.path.join(self.run_dir, name)
        handle = open(path, "wb")
        try:
            version = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
            self._append(handle, version.SerializeToString())
        except OSError:
            handle.close()
            os.remove(path)
            raise
        self._file, self.path = handle, path

    @staticmethod
    def _append(handle: Any, record: bytes) -> None:
        start = handle.tell()
        try:
            RecordWriter(handle).write(record)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError:
            try:    # cut the torn record off: readers must never see half a round
                handle.seek(start)
                handle.truncate()
                handle.flush()
            except OSError:
                pass
            raise

    @property
    def lost_file(self) -> bool:
        """Whether the file written so far is gone (its directory removed or replaced):
        the next write starts a new one, which must carry the run's probes again."""
        return self.path is not None and not os.path.exists(self.path)

    def write(self, step: int, summary: summary_pb2.Summary) -> None:
        """Appends the round as one event; OSError (file restored) when it cannot."""
        self.reopened = self.lost_file
        if self.reopened:
            self.close()
        if self._file is None:
            self._open()
        event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._append(self._file, event.SerializeToString())

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None


class SummaryWriterAdapter:
    """Rounds through an existing PyTorch or tensorboardX `SummaryWriter`.

    Args:
      writer: a `torch.utils.tensorboard.SummaryWriter` or `tensorboardX.SummaryWriter`;
        the rounds go to its log directory (its run).
    """

    def __init__(self, writer: Any) -> None:
        file_writer = getattr(writer, "file_writer", None) or getattr(
            writer, "_get_file_writer", lambda: None)()
        if file_writer is None or not hasattr(file_writer, "add_summary"):
            raise ValueError(f"writer must be a torch.utils.tensorboard or tensorboardX "
                             f"SummaryWriter, got {type(writer).__name__}")
        self._writer = writer
        self._file_writer = file_writer
        self.run_dir = str(getattr(writer, "log_dir", None) or getattr(writer, "logdir"))
        self.reopened = self.lost_file = False
        # tensorboardX type-checks against its own copy of the Summary proto
        self._proto = None
        if type(writer).__module__.startswith("tensorboardX"):
            from tensorboardX.proto import summary_pb2 as x_summary_pb2
            self._proto = x_summary_pb2.Summary

    def write(self, step: int, summary: summary_pb2.Summary) -> None:
        if self._proto is not None:
            summary = self._proto.FromString(summary.SerializeToString())
        self._file_writer.add_summary(summary, int(step))
        self._writer.flush()

    def close(self) -> None:
        self._writer.flush()
