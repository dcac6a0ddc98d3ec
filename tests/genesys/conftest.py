"""A fake Genesys Cloud on 127.0.0.1 for every test here, and the means to run `flatten genesys` at it.

Nothing here sends traffic anywhere but the loopback address: settings come from the fake
server's own URL, never from a region.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flattener import Store, open_plan
from flattener.cli import cli
from flattener.store import create_engine
from genesys.client import GenesysClient
from genesys.config import Settings
from genesys.testing import FakeGenesys, FakeOptions, FakeOrg, Faults

ROOT = Path(__file__).resolve().parents[2]
MAPPING = "conversation"  # the default of the conversation commands
START = datetime(2024, 5, 1, tzinfo=UTC)
FAST = {"GENESYS_BACKOFF_BASE": "0.01", "GENESYS_BACKOFF_MAX": "0.05",  # test waits stay short
        "GENESYS_REQUESTS_PER_MINUTE": "6000"}


@pytest.fixture
def serve():
    """serve(org, options=None, faults=None) -> a started FakeGenesys, stopped after the test."""
    servers = []

    def start(org: FakeOrg, options: FakeOptions | None = None, faults: Faults | None = None) -> FakeGenesys:
        server = FakeGenesys(org, options, faults).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def small_org():
    """300 conversations, one every 10 minutes from 2024-05-01 (about two days)."""
    return FakeOrg.generate(300, seed=7, start=START, spacing=timedelta(minutes=10))


def client_for(server: FakeGenesys, **overrides) -> GenesysClient:
    settings = Settings.from_environment({**server.environment(), **FAST}, env_file=None, **overrides)
    return GenesysClient(settings)


def run_cli(server: FakeGenesys, *arguments: str, env: dict | None = None):
    """`flatten ARGUMENTS` in-process, with the environment pointing at `server`; returns the click Result."""
    environment = {**server.environment(), **FAST, "GENESYS_REGION": None, **(env or {})}
    result = CliRunner().invoke(cli, ["genesys", "--env-file", "/nonexistent/.env", *arguments], env=environment,
                                catch_exceptions=False)
    return result


def query(url: str, sql: str) -> list[tuple]:
    """The rows of one SQL query (state tables, aggregates) in the database at `url`."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def stored(url: str, mapping: str = MAPPING) -> dict[tuple, dict]:
    """Every document in the database, by key."""
    store = Store(open_plan(mapping), url)
    try:
        with store.session() as session:
            documents, after = {}, None
            while keys := session.keys(after):
                documents.update(session.read(keys))
                after = keys[-1]
            return documents
    finally:
        store.dispose()
