"""Loading is idempotent, a new version replaces the old one completely, and a failed batch writes nothing."""

from __future__ import annotations

import gzip

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flattener import DatabaseError, InputError, Loader
from flattener.cli import cli

from .conftest import SYNTHETIC, table_contents
from .strategies import documents
from .test_roundtrip import EVERYTHING

batches = st.lists(documents(EVERYTHING, max_items=2), min_size=1, max_size=3,
                   unique_by=lambda document: document["id"])


def load(store, docs, batch_size=1000):
    """As `flatten load` does: batches written on a background thread while the next is flattened."""
    with store.session() as session:
        session.create_tables()
        with Loader(session, batch_size=batch_size) as loader:
            for number, document in enumerate(docs, 1):
                loader.add(document, "test", number)
            loader.flush()
        session.commit()


def clear(store):
    with store.session() as session:
        session.create_tables()
        keys = session.keys(limit=1_000_000)
        session.delete(keys)
        session.commit()


@pytest.fixture
def store(database_url, make_store):
    return make_store(EVERYTHING, database_url)


def test_loading_twice_equals_loading_once(store):
    @settings(max_examples=25)
    @given(batches)
    def check(docs):
        clear(store)
        load(store, docs)
        once = table_contents(store)
        load(store, docs)
        assert table_contents(store) == once

    check()


def test_a_new_version_replaces_the_old_one_completely(store):
    """v1 then v2 leaves exactly what v2 alone leaves: no stale child rows."""

    @settings(max_examples=25)
    @given(documents(EVERYTHING, max_items=2), documents(EVERYTHING, max_items=2), batches)
    def check(first, second, others):
        second = {**second, "id": first["id"]}
        others = [other for other in others if other["id"] != first["id"]]
        clear(store)
        load(store, others + [first])
        load(store, [second])
        after_update = table_contents(store)
        clear(store)
        load(store, others + [second])
        assert after_update == table_contents(store)

    check()


def test_versions_of_one_document_in_one_batch_keep_the_last(store):
    first = {"id": "a", "parts": [{"partId": "p1"}, {"partId": "p2"}], "tags": ["x"]}
    second = {"id": "a", "parts": [{"partId": "p3"}]}
    load(store, [first, {"id": "b"}, second], batch_size=10)
    with store.session() as session:
        assert session.read([("a",)]) == {("a",): second}
        assert session.count() == 2


def test_a_bad_document_leaves_the_database_unchanged(store):
    load(store, [{"id": "a", "label": "old", "parts": [{"partId": "p1"}]}, {"id": "b"}])
    before = table_contents(store)
    batch = [
        {"id": "a", "label": "new", "parts": []},  # a new version of a stored document
        {"id": "c", "label": "fresh"},
        {"id": "d", "small": "not a number"},  # breaks the mapping
    ]
    with pytest.raises(InputError) as raised:
        load(store, batch, batch_size=2)  # the first two documents are already written when the third fails
    assert str(raised.value) == ("test: record 3: $.small: expected an integer, got the string 'not a number'")
    assert table_contents(store) == before


def test_committing_each_batch_keeps_the_batches_before_a_failure(store):
    with pytest.raises(InputError):
        with store.session() as session:
            session.create_tables()
            loader = Loader(session, batch_size=2, commit_each_batch=True)
            for number, document in enumerate([{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": 5}], 1):
                loader.add(document, "test", number)
    with store.session() as session:
        assert sorted(session.keys()) == [("a",), ("b",)]


def test_duplicate_natural_keys_in_a_document_are_refused(store):
    with pytest.raises(InputError, match=r"\$\.parts\[1\]: duplicate key in table 'parts'"):
        load(store, [{"id": "a", "parts": [{"partId": "p"}, {"partId": "p"}]}])


def test_missing_key_fields_are_refused(store):
    missing = r"record 1: \$\.parts\[0\]\.partId: the key field of table 'parts' is missing"
    with pytest.raises(InputError, match=missing):
        load(store, [{"id": "a", "parts": [{"name": "no id"}]}])
    with pytest.raises(InputError, match=r"\$\.id: the key field of table 'things' is missing or null"):
        load(store, [{"id": None}])


def test_unmapped_fields_are_refused_where_the_mapping_says_so(store):
    with pytest.raises(InputError, match=r"\$\.events\[0\]\.surprise: field not in the mapping"):
        load(store, [{"id": "a", "events": [{"kind": "x", "surprise": 1}]}])


def test_without_with_the_loader_writes_in_the_callers_thread(store):
    with store.session() as session:
        session.create_tables()
        loader = Loader(session, batch_size=2)
        for name in "abcde":
            loader.add({"id": name})
        loader.flush()
        session.commit()
    with store.session() as session:
        assert session.count() == 5


def test_a_database_error_in_the_background_writer_reaches_the_caller_and_writes_nothing(store):
    """The writer thread fails on batch 2 (a real constraint in the database); the error surfaces
    in the loading thread and the transaction rolls back."""
    load(store, [{"id": "before"}])
    before = table_contents(store)
    with store.engine.begin() as connection:
        if store.dialect == "postgresql":
            connection.exec_driver_sql("ALTER TABLE things ADD CONSTRAINT no_boom CHECK (label <> 'boom')")
        else:
            connection.exec_driver_sql("CREATE TRIGGER no_boom BEFORE INSERT ON things WHEN NEW.label = 'boom' "
                                       "BEGIN SELECT RAISE(ABORT, 'no boom'); END")
    documents = [{"id": f"d{number}", "label": "boom" if number == 3 else "fine"} for number in range(8)]
    with pytest.raises(DatabaseError, match="the database refused rows of table 'things': .*(no_boom|no boom)"):
        load(store, documents, batch_size=2)
    assert table_contents(store) == before


def test_pages_of_documents_come_in_key_order_each_document_once(store):
    ids = [f"doc-{number:02d}" for number in range(23)]
    load(store, [{"id": name, "parts": [{"partId": "p"}], "tags": [name]} for name in reversed(ids)])
    with store.session() as session:
        seen = [document["id"] for page in session.pages(limit=5) for _, document in page]
    assert seen == ids


def test_a_document_whose_root_row_was_deleted_by_hand_loads_again(database_url, make_store, tmp_path):
    """Deleting root rows by hand leaves their child rows behind; loading those documents again
    replaces those rows too, as loading them into a clean database would."""
    store = make_store("conversation", database_url)
    path = tmp_path / "some.ndjson"
    with gzip.open(SYNTHETIC, "rt", encoding="utf-8") as lines:
        path.write_text("".join(line for _, line in zip(range(30), lines)))
    runner = CliRunner()
    assert runner.invoke(cli, ["load", str(path), "--db", database_url]).exit_code == 0
    clean = table_contents(store)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM conversations WHERE conversation_id IN "
                                   "(SELECT conversation_id FROM conversations ORDER BY conversation_id LIMIT 3)")
    result = runner.invoke(cli, ["load", str(path), "--db", database_url, "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert table_contents(store) == clean


@pytest.mark.parametrize("made, wanted, problem", [
    ("{id: string}", "{id: string, note: string}", "lacks the columns note"),
    ("{id: string, note: string}", "{id: int64, note: string}", "id is TEXT, not BIGINT"),
])
def test_tables_made_for_another_mapping_are_refused(made, wanted, problem, database_url, make_store, tmp_path):
    """Before column types were compared, a key of another type loaded, and could not be read back."""
    def store_of(fields: str):
        path = tmp_path / "m.yaml"
        path.write_text(f"root: {{table: t, key: id, fields: {fields}}}\n")
        return make_store(str(path), database_url)

    with store_of(made).session() as session:
        session.create_tables()
        session.commit()
    with store_of(wanted).session() as session, pytest.raises(DatabaseError) as raised:
        session.create_tables()
    assert str(raised.value).startswith("table 't' in ")
    assert f"({problem}): it was made for another mapping" in str(raised.value)


@pytest.mark.postgres
def test_loads_that_start_together_on_postgresql_create_the_tables_once(postgres_url, make_store):
    """The second creator once failed on `duplicate key value violates unique constraint
    "pg_type_typname_nsp_index"`: it now waits for the first to commit, then finds the tables."""
    import threading

    from flattener.store import _CREATING_TABLES

    first, second = make_store("blueprint", postgres_url), make_store("blueprint", postgres_url)
    errors: list[BaseException] = []
    with first.session() as creating:
        creating.connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CREATING_TABLES})")
        first.metadata.create_all(creating.connection)  # a first load, midway through creating them

        def second_load():
            try:
                with second.session() as session:
                    session.create_tables()
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=second_load)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive()  # waiting for the first
        creating.commit()
    thread.join(timeout=10)
    assert not thread.is_alive() and errors == []


def test_values_kept_raw_are_counted_all_but_held_only_as_many_as_are_shown(sqlite_url, make_store, tmp_path):
    """The list once held every such value of a load, though only 20 were ever printed."""
    from flattener.load import KEPT_SHOWN

    mapping = tmp_path / "lenient.yaml"
    mapping.write_text("invalid: keep\nroot: {table: t, key: id, fields: {id: string, at: timestamp}}\n")
    with make_store(str(mapping), sqlite_url).session() as session:
        session.create_tables()
        with Loader(session, batch_size=7) as loader:
            for number in range(KEPT_SHOWN + 10):
                loader.add({"id": str(number), "at": "not a time"}, "f.json", number + 1)
            loader.flush()
    assert (len(loader.kept), loader.kept_count) == (KEPT_SHOWN, KEPT_SHOWN + 10)
    assert loader.warnings()[0] == ("warning: kept as raw JSON beside a NULL column: f.json: record 1: $.at: "
                                    "'not a time' is not an ISO-8601 timestamp (expected the form "
                                    "2021-04-01T12:27:53.386Z)")
    assert loader.warnings()[KEPT_SHOWN:] == ["warning: ... and 10 more values kept as raw JSON"]
