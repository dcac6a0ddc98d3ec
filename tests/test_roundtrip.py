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


def test_documents_rebuild_exactly_through_every_file_layout(database_url, make_store, tmp_path):
    """The same promise from files, as `flatten load` reads them: bare, array, NDJSON or envelope."""
    import json

    from flattener import Loader, read_documents

    store = make_store(EVERYTHING, database_url)
    layouts = {
        "bare": lambda batch: json.dumps(batch[0], indent=2),
        "array": lambda batch: json.dumps(batch),
        "ndjson": lambda batch: "".join(json.dumps(document) + "\n" for document in batch),
        "envelope": lambda batch: json.dumps({"totalHits": len(batch), EVERYTHING.envelope.key: batch, "next": None}),
    }

    @settings(max_examples=40)
    @given(st.lists(documents(EVERYTHING), min_size=1, max_size=3, unique_by=lambda document: document["id"]),
           st.sampled_from(sorted(layouts)))
    def check(batch, layout):
        batch = batch[:1] if layout == "bare" else batch
        path = tmp_path / "input.json"
        path.write_text(layouts[layout](batch), encoding="utf-8")
        with store.session() as session:
            session.create_tables()
            with Loader(session) as loader:
                assert loader.add_records(str(path), read_documents(str(path), EVERYTHING.envelope)) == len(batch)
                loader.flush()
            stored = session.read([Flattener(EVERYTHING).key_of(document) for document in batch])
        for document in batch:
            assert list(differences(document, stored[Flattener(EVERYTHING).key_of(document)])) == [], layout

    check()
