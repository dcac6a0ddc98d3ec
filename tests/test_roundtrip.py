"""The central promise: reconstruct(load(document)) == document, strictly, on SQLite and PostgreSQL."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flattener import Flattener, Rebuilder, open_plan
from flattener.compare import differences

from .conftest import TEST_MAPPINGS, assert_round_trips
from .strategies import documents

EVERYTHING = open_plan(str(TEST_MAPPINGS / "everything.yaml"))


@given(documents(EVERYTHING))
def test_rows_rebuild_the_document_exactly(document):
    """flatten -> rebuild in memory, no database: the pure part of the promise."""
    flat = Flattener(EVERYTHING).flatten(document)
    (key, rebuilt), = Rebuilder(EVERYTHING).documents(flat.rows)
    assert key == flat.key
    assert list(differences(document, rebuilt)) == []


def test_documents_rebuild_exactly_from_the_database(database_url, make_store):
    store = make_store(EVERYTHING, database_url)

    @settings(max_examples=60)
    @given(st.lists(documents(EVERYTHING), min_size=1, max_size=4, unique_by=lambda document: document["id"]))
    def check(batch):
        assert_round_trips(store, batch)

    check()
