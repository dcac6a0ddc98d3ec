"""Genesys's blueprint: its five tables, its two sample conversations, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from click.testing import CliRunner

from flattener import open_plan
from flattener.cli import cli
from flattener.mapping import resolve

from .conftest import SAMPLES

CONVERSATION1 = str(SAMPLES / "blueprint" / "conversation1.json")
CONVERSATION2 = str(SAMPLES / "blueprint" / "conversation2.json")


def flatten(*args, db):
    return CliRunner().invoke(cli, [*args, "--db", db], catch_exceptions=False)


def test_the_blueprint_mapping_has_the_blueprint_tables():
    assert [table.name for table in open_plan("blueprint").tables] == [
        "conversations", "participants", "sessions", "segments", "metrics"]


def test_conversation1_loads_reconstructs_and_verifies(database_url):
    assert flatten("load", "-m", "blueprint", CONVERSATION1, db=database_url).exit_code == 0
    rebuilt = flatten("reconstruct", "-m", "blueprint", "1bc96a39-6725-40c4-9345-db72aa67b8c6", db=database_url)
    assert json.loads(rebuilt.stdout) == json.loads(open(CONVERSATION1).read())
    verified = flatten("verify", "-m", "blueprint", CONVERSATION1, db=database_url)
    assert verified.exit_code == 0 and "1 identical, 0 different" in verified.stderr


def test_conversation2_is_rejected_with_a_clear_error(database_url):
    """Its nested timestamps have a one-digit day; by default (invalid: reject) nothing is written."""
    result = flatten("load", "-m", "blueprint", CONVERSATION2, db=database_url)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {CONVERSATION2}: record 1, line 1: $.participants[0].sessions[0].segments[0].segmentStart: "
        "'2021-04-2T15:30:51.418Z' is not an ISO-8601 timestamp (expected the form 2021-04-01T12:27:53.386Z)\n")


def test_conversation2_round_trips_exactly_when_the_mapping_keeps_invalid_values(database_url, tmp_path):
    """With `invalid: keep`, the malformed timestamps are kept verbatim beside NULL columns, with a warning."""
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(resolve("blueprint")[1].replace("invalid: reject", "invalid: keep"))
    loaded = flatten("load", "-m", str(lenient), CONVERSATION2, db=database_url)
    assert loaded.exit_code == 0
    assert "warning: kept as raw JSON beside a NULL column: " in loaded.stderr
    assert "$.participants[0].sessions[0].segments[0].segmentStart: '2021-04-2T15:30:51.418Z'" in loaded.stderr
    verified = flatten("verify", "-m", str(lenient), CONVERSATION2, db=database_url)
    assert verified.exit_code == 0 and "1 identical, 0 different" in verified.stderr
