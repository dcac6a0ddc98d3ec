"""What a run holds in memory, and the progress bar that only a terminal sees."""

import sys

from flattener import Store, open_plan
from genesys.details import DetailsQuery
from genesys.intervals import parse_duration, parse_interval
from genesys.loading import Progress, Sink

from .conftest import MAPPING, client_for


def test_memory_follows_the_window_and_the_batch_not_the_interval(serve, small_org, sqlite_url):
    server = serve(small_org)
    store = Store(open_plan(MAPPING), sqlite_url)
    most_keys = most_pending = 0
    with client_for(server) as client, store.session() as session:
        session.create_tables()
        sink = Sink(session, batch_size=50)
        sink.state.create()
        for page in DetailsQuery(client, parse_duration("12h")).pages(*parse_interval("2024-05-01/2024-05-04")):
            for conversation in page.conversations:
                sink.add(conversation, page.source)
                most_keys = max(most_keys, len(sink.seen.current) + len(sink.seen.previous))
                most_pending = max(most_pending, len(sink.loader.batch))
            if page.last:
                sink.seen.clear()
            sink.checkpoint()
        sink.checkpoint(force=True)
        assert session.count() == 300
    store.dispose()
    assert most_keys == 72      # one 12-hour window of conversations, however long the interval
    assert most_pending <= 50   # one batch of documents


def test_the_progress_bar_shows_only_on_a_terminal(monkeypatch):
    assert Progress("conversations").bar is None  # the tests' stderr is no terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = Progress("conversations")
    assert progress.bar is not None
    progress.expect(10)
    progress.advance(4)
    assert (progress.bar.length, progress.bar.pos) == (10, 4)
    progress.close()
