"""Faults a fake server injects: scripted ones for exact tests, random ones for soak tests.

A fault is a status the server answers instead of the real response (429 with a Retry-After,
502/503/504), `drop` (the connection closes without an answer), `revoke` (the token in use
stops being valid, so the call gets a 401) or `stall` (the answer comes late, past a client's
timeout). Scripted faults fire in order on the calls whose path
starts with their prefix; random faults fire with a probability, in bursts, from a seeded RNG.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass

KINDS = ("429", "502", "503", "504", "drop", "revoke", "stall")


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: int | None = None  # whole seconds, as Genesys sends them

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None


class Faults:
    def __init__(self, rate: float = 0.0, kinds: tuple[str, ...] = ("502", "503", "504", "drop"),
                 burst: int = 3, seed: int = 0):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")
        self.rate, self.kinds, self.burst = rate, kinds, burst
        self.rng = random.Random(seed)
        self.script: deque[tuple[str, Fault]] = deque()
        self.pending_burst: list[Fault] = []
        self.injected: Counter[str] = Counter()
        self.lock = threading.Lock()

    def add(self, kind: str, times: int = 1, path: str = "/api/", retry_after: int | None = None) -> Faults:
        """Script `times` faults of `kind` on the next calls under `path` (a burst when times > 1)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {KINDS}")
        if kind == "429" and retry_after is None:
            retry_after = 1
        with self.lock:
            self.script.extend((path, Fault(kind, retry_after)) for _ in range(times))
        return self

    def next(self, path: str) -> Fault | None:
        """The fault for a call to `path`, if one is due. Random faults spare the token endpoint."""
        with self.lock:
            if self.script and path.startswith(self.script[0][0]):
                fault = self.script.popleft()[1]
            elif self.pending_burst and path.startswith("/api/"):
                fault = self.pending_burst.pop()
            elif self.rate and path.startswith("/api/") and self.rng.random() < self.rate:
                kind = self.rng.choice(self.kinds)
                fault = Fault(kind, 1 if kind == "429" else None)
                self.pending_burst = [fault] * (self.rng.randint(1, self.burst) - 1)
            else:
                return None
            self.injected[fault.kind] += 1
            return fault
