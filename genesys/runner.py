"""One command run against one database: its tables, its state, its Genesys client, its bookkeeping.

Every run is a row of `genesys_runs`. What the run loaded and the state that describes it are
committed together, batch by batch. When a run fails, the batch in hand is still committed if the
database allows it (its state row goes with it, so nothing is recorded that was not stored), and
the run's row says why it failed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flattener import Store, open_plan
from flattener.progress import Progress

from .client import GenesysClient
from .loading import Sink
from .state import State

log = logging.getLogger("genesys.run")


@dataclass
class Run:
    client: GenesysClient
    store: Store
    sink: Sink
    started: float

    @property
    def state(self) -> State:
        return self.sink.state

    def warnings(self) -> list[str]:
        """Values the mapping could not type and kept raw (the engine's `invalid: keep`), to show the user."""
        return self.sink.loader.warnings()

    def summary(self, what: str = "documents") -> str:
        counters = self.client.counters
        seconds = time.perf_counter() - self.started
        skipped = f" ({self.sink.duplicates} seen twice, loaded once)" if self.sink.duplicates else ""
        waits = (f", {counters.retried} retries, {counters.waited:.1f} s waiting" if counters.retried else "")
        return (f"loaded {self.sink.loaded} {what}{skipped} into {self.store.display_url} in {seconds:.1f} s: "
                f"{counters.requests} requests{waits}")


@contextmanager
def loading_run(client: GenesysClient, command: str, arguments: dict, mapping: str, db: str, batch_size: int,
                progress_label: str | None = None) -> Iterator[Run]:
    store = Store(open_plan(mapping), db)
    try:
        with store.session() as session:
            session.create_tables()
            state = State(session.connection)
            state.create()
            run_id = state.start_run(command, json.dumps(arguments, sort_keys=True, default=str))
            session.commit()
            progress = Progress(progress_label or command)
            sink = Sink(session, batch_size, progress)
            run = Run(client, store, sink, time.perf_counter())
            try:
                yield run
            except BaseException as error:
                progress.close()
                _record_failure(run, run_id, error)
                raise
            progress.close()
            sink.checkpoint(lambda state: state.finish_run(run_id, "succeeded", sink.loaded, client.counters.requests),
                            force=True)
    finally:
        store.dispose()


def _record_failure(run: Run, run_id: int, error: BaseException) -> None:
    sink, session = run.sink, run.sink.session
    message = str(error) or type(error).__name__
    finish = lambda state: state.finish_run(run_id, "failed", sink.loaded, run.client.counters.requests,  # noqa: E731
                                            message[:2000])
    try:
        sink.checkpoint(finish, force=True)  # keep the batch in hand, with its state
    except Exception:  # the transaction is broken (a database error): lose the batch, keep the verdict
        log.debug("could not commit the last batch", exc_info=True)
        session.connection.rollback()
        session.connection.begin()
        try:
            finish(run.state)
            session.commit()
        except Exception:
            log.debug("could not record the failed run", exc_info=True)
