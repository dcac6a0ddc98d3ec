"""A root key of several fields: replace, read, page and reconstruct by it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flattener import open_plan
from flattener.cli import cli

from .conftest import TEST_MAPPINGS, assert_round_trips, table_contents
from .strategies import documents
from .test_load import load

MAPPING = TEST_MAPPINGS / "composite.yaml"
PLAN = open_plan(str(MAPPING))


def test_every_table_starts_with_both_key_columns():
    for table in PLAN.tables:
        assert table.column_names[:2] == ["region", "number"], table.name


def test_documents_round_trip_and_reload(database_url, make_store):
    store = make_store(PLAN, database_url)

    @settings(max_examples=25)
    @given(st.lists(documents(PLAN), min_size=1, max_size=4,
                    unique_by=lambda document: (document["region"], document["number"])))
    def check(batch):
        assert_round_trips(store, batch)
        before = table_contents(store)
        assert_round_trips(store, batch)  # every document present: deleted by its two-column key
        assert table_contents(store) == before

    check()


def test_pages_come_in_key_order_and_reconstruct_takes_a_json_array(database_url, make_store):
    store = make_store(PLAN, database_url)
    accounts = [{"region": region, "number": number, "owners": [{"ownerId": f"o{number}"}], "tags": [region]}
                for region in ("eu", "us", "ap") for number in (3, 1, 2)]
    load(store, accounts)
    with store.session() as session:
        keys = [key for page in session.pages(limit=2) for key, _ in page]
    assert keys == sorted((account["region"], account["number"]) for account in accounts)
    result = CliRunner().invoke(cli, ["reconstruct", "-m", str(MAPPING), "--db", database_url, '["us", 2]'])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"region": "us", "number": 2,
                                                                    "owners": [{"ownerId": "o2"}], "tags": ["us"]}
    wrong = CliRunner().invoke(cli, ["reconstruct", "-m", str(MAPPING), "--db", database_url, "us"])
    assert wrong.exit_code == 2 and "this mapping's key has 2 fields (region, number)" in wrong.stderr
