"""Counting a poll's votes: pure arithmetic, no database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAR = 20  # characters of a full text bar


@dataclass(frozen=True)
class Line:
    option: str
    count: int
    percent: int  # of the voters
    bar: str
    winner: bool


@dataclass(frozen=True)
class Tally:
    lines: tuple[Line, ...]
    voters: int
    eligible: int
    quorum: int | None

    @property
    def reached(self) -> bool:
        return self.quorum is None or self.voters >= self.quorum

    @property
    def winners(self) -> list[str]:
        return [line.option for line in self.lines if line.winner]

    @property
    def tie(self) -> bool:
        return len(self.winners) > 1

    def counts(self) -> dict[str, object]:
        """What the decision log keeps of it."""
        return {
            "options": [line.option for line in self.lines],
            "counts": [line.count for line in self.lines],
            "voters": self.voters,
            "eligible": self.eligible,
            "quorum": self.quorum,
            "reached": self.reached,
        }


def tally(
    options: Sequence[str],
    choices: Sequence[Sequence[int]],
    *,
    eligible: int,
    quorum: int | None,
) -> Tally:
    """Count each option over the voters' `choices` (option indexes)."""
    counts = [0] * len(options)
    for chosen in choices:
        for index in set(chosen):
            if 0 <= index < len(counts):
                counts[index] += 1
    voters = len(choices)
    best = max(counts) if counts else 0
    lines = tuple(
        Line(
            option=option,
            count=count,
            percent=round(100 * count / voters) if voters else 0,
            bar="█" * round(BAR * count / voters) + "░" * (BAR - round(BAR * count / voters))
            if voters
            else "░" * BAR,
            winner=best > 0 and count == best,
        )
        for option, count in zip(options, counts, strict=True)
    )
    return Tally(lines, voters, eligible, quorum)
