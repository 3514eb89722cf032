"""Randomness is injected (STYLE 3): the core asks for this protocol, the shell passes ``random.Random(seed)``.

Defined here as a protocol so that core modules need not import :mod:`random` at all.
"""

from __future__ import annotations

from typing import Protocol


class RandomSource(Protocol):
    """The part of ``random.Random`` the core uses."""

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int: ...

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...

    def getrandbits(self, k: int, /) -> int: ...
