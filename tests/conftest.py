"""Real databases for the tests: a SQLite file, and a fresh schema in a real PostgreSQL.

PostgreSQL comes from FLATTEN_TEST_POSTGRES (default: postgres on 127.0.0.1:5432, database
test). When it cannot be reached, its tests are skipped, unless FLATTEN_REQUIRE_POSTGRES=1 (as in
CI), which makes them fail.
"""

from __future__ import annotations

import gzip
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from flattener import Store, open_plan

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
TEST_MAPPINGS = Path(__file__).resolve().parent / "mappings"
SYNTHETIC = SAMPLES / "genesys" / "synthetic-conversations.ndjson.gz"  # 300 generated conversations
POSTGRES_URL = os.environ.get("FLATTEN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

# Documents are deliberately rich (every field drawn), so big inputs are expected, not a smell.
_CHECKS_OFF = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("default", deadline=None, suppress_health_check=_CHECKS_OFF)
settings.register_profile("ci", deadline=None, suppress_health_check=_CHECKS_OFF, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def _postgres_unavailable() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=5).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable: {str(error).strip().splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_server():
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("FLATTEN_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (FLATTEN_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server):
    """A URL whose connections work in a schema of their own, dropped afterwards."""
    schema = "flatten_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'flatten.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request):
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def long_input(tmp_path):
    """9,000 synthetic conversations as NDJSON (later versions of the first 300): a load of a few seconds."""
    path = tmp_path / "long.ndjson"
    with gzip.open(SYNTHETIC, "rt", encoding="utf-8") as lines:
        path.write_text(lines.read() * 30, encoding="utf-8")
    return path


@pytest.fixture
def make_store():
    """Store(plan-or-mapping, url), disposed after the test."""
    stores = []

    def make(mapping, url):
        plan = open_plan(str(mapping)) if not hasattr(mapping, "tables") else mapping
        store = Store(plan, url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.dispose()


def assert_round_trips(store: Store, batch: list[dict]) -> None:
    """Store a batch of documents and read them back: each must come back strictly equal."""
    from flattener import Flattener
    from flattener.bulk import BatchEncoder
    from flattener.compare import differences

    flattener = Flattener(store.plan)
    flats = [flattener.flatten(document) for document in batch]
    with store.session() as session:
        session.create_tables()
        session.replace(BatchEncoder(store.plan, store.dialect).encode(flats))
        stored = session.read([flat.key for flat in flats])
        session.commit()
    for flat, document in zip(flats, batch):
        assert list(differences(document, stored[flat.key])) == []


def table_contents(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table of the plan, sorted: what 'the database state' means in tests."""
    import sqlalchemy as sa

    contents = {}
    with store.engine.connect() as connection:
        inspector = sa.inspect(connection)
        for table in store.plan.tables:
            if not inspector.has_table(table.name):
                contents[table.name] = None
                continue
            clause = store.clauses[table.number]
            rows = connection.execute(sa.select(*clause.c)).all()
            contents[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return contents
