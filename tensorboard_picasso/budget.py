"""A time budget for explanation logging: rounds are spaced so that Picasso's seconds stay
within `share` (default 10%) of the seconds spent training, so the fit takes at most
(1 + share) times as long as without the callback.

At a scheduled round, with t the fit's wall time so far, S the seconds Picasso has spent
(every round, tracing included), so t - S the training time, and c the expected cost of
the next round:

    run the round  iff  S + c <= share * (t - S)

so after it the bound still holds. c is the latest round's cost without the one-time
set-up (tracing and compiling the methods' functions, measured as the first calls' extra
time), so the first round's set-up is paid once and not assumed for every round. Rounds
that must be there — before training and the last epoch — run whatever the budget says.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class TimeBudget:
    """Picasso's seconds as a share of the training time.

    Args:
      share: the largest share (0 < share <= 1): Picasso's seconds / training seconds, or
        None for no budget (every round runs).
    """

    share: float | None = 0.1
    spent: float = 0.0         # seconds of all rounds so far
    setup: float = 0.0         # of which one-time set-up (tracing)
    estimate: float = 0.0      # expected seconds of the next round
    skipped: int = 0           # rounds the budget skipped

    def __post_init__(self) -> None:
        if self.share is not None and (isinstance(self.share, bool) or not isinstance(
                self.share, (int, float)) or not 0 < self.share <= 1):
            raise ValueError(f"budget must be a share of the training time in (0, 1] "
                             f"(e.g. 0.1 for 10%), or None for no budget; got {self.share!r}")

    def allows(self, elapsed: float) -> bool:
        """Whether a round may run now, `elapsed` seconds into the fit; counts a skip."""
        if self.share is None or self.spent + self.estimate <= self.share * (
                elapsed - self.spent):
            return True
        self.skipped += 1
        return False

    def record(self, seconds: float, setup: float) -> None:
        """A round took `seconds`, of which `setup` were one-time set-up."""
        self.spent += seconds
        self.setup += setup
        self.estimate = max(seconds - setup, 0.0)

    def summary(self, elapsed: float, logged: int) -> str:
        """One line: rounds logged and skipped, and Picasso's seconds against the training
        time (`elapsed`, the fit's wall time, minus Picasso's seconds)."""
        training = elapsed - self.spent
        share = self.spent / training if training > 0 else 0.0
        line = (f"Picasso: {logged} rounds logged in {self.spent:.1f} s "
                f"({share:.0%} of {training:.1f} s of training")
        if self.setup > 0.05:
            line += f", {self.setup:.1f} s of it one-time tracing"
        line += ")"
        if self.skipped:
            line += (f"; {self.skipped} rounds skipped to stay within "
                     f"{self.share:.0%} (budget=None logs every round)")
        return line
