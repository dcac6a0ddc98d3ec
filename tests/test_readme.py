"""The README's commands, schema and report queries are true: tests run them."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta

import pytest

from flattener import Loader, open_plan
from flattener.plan import describe

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def between(marker: str) -> str:
    match = re.search(rf"<!-- {re.escape(marker)} -->\n(.*?)<!-- /", README, re.S)
    assert match, marker
    return match.group(1)


def command(marker: str) -> str:
    return between(marker).strip().removeprefix("```sh").removesuffix("```").strip()


def test_the_schema_shown_is_what_flatten_describe_prints():
    assert between("schema: conversation").strip() == describe(open_plan("conversation"))


def test_ci_runs_the_readme_test_command():
    extracted = subprocess.run(
        ["bash", "-c", "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md "
                       "| grep -v -e '^<!--' -e '^```'"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert extracted.stdout.strip() == command("test-command")
    assert "sed -n '/<!-- test-command -->/" in (ROOT / ".ci" / "run").read_text()


def test_the_main_command_loads_and_verifies_the_bundled_samples(tmp_path):
    """The flatten steps of the README's first command, as written, with this installation's flatten."""
    steps = [step.strip() for step in command("main-command").split("&&") if "flatten " in step]
    assert [step.split()[1] for step in steps] == ["load", "verify"]
    for step in steps:
        words = step.replace(".venv/bin/flatten", shlex.quote(sys.executable) + " -m flattener")
        result = subprocess.run(["bash", "-c", words], cwd=ROOT, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "FLATTEN_DB": f"sqlite:///{tmp_path / 'demo.db'}"})
        assert result.returncode == 0, result.stderr
    assert re.search(r"verified (\d+) documents: \1 identical, 0 different", result.stderr), result.stderr


# -- the example reports ----------------------------------------------------------------------

REPORTS = {match.group(1): match.group(0) for match in re.finditer(r"-- report: (.+)\n(?:.*\n)*?.*;", README)}


def test_the_readme_has_three_reports():
    assert sorted(REPORTS) == ["conversations per media type per day", "handle time per queue",
                               "talk time per agent"]


@pytest.fixture(scope="module")
def conversations():
    from genesys.synthetic import Synthesizer, default_start

    return list(Synthesizer(seed=7).conversations(150, default_start(), spacing=timedelta(minutes=20)))


def expected_reports(conversations) -> dict[str, list[tuple]]:
    handle = defaultdict(list)
    days = defaultdict(set)
    talk = defaultdict(lambda: [set(), 0])
    for conversation in conversations:
        for participant in conversation["participants"]:
            for session in participant["sessions"]:
                days[(conversation["conversationStart"][:10], session["mediaType"])].add(conversation["conversationId"])
                queues = {segment["queueId"] for segment in session.get("segments", []) if "queueId" in segment}
                for metric in session.get("metrics", []):
                    if metric["name"] == "tHandle":
                        for queue in queues:
                            handle[queue].append(metric["value"])
                    if metric["name"] == "tTalk" and participant["purpose"] == "agent":
                        talk[participant["userId"]][0].add(conversation["conversationId"])
                        talk[participant["userId"]][1] += metric["value"]
    return {
        "handle time per queue": [(queue, len(values), sum(values) / len(values) / 1000)
                                  for queue, values in sorted(handle.items())],
        "conversations per media type per day": [(day, media, len(ids)) for (day, media), ids in sorted(days.items())],
        "talk time per agent": [(user, len(ids), total / 1000) for user, (ids, total) in sorted(talk.items())],
    }


def test_the_reports_give_the_right_numbers(database_url, make_store, conversations):
    plan = open_plan("conversation")
    store = make_store(plan, database_url)
    with store.session() as session:
        session.create_tables()
        loader = Loader(session)
        for conversation in conversations:
            loader.add(conversation)
        loader.flush()
        session.commit()
        if store.dialect == "postgresql":
            session.connection.exec_driver_sql("SET TIME ZONE 'UTC'")
        results = {name: [tuple(row) for row in session.connection.exec_driver_sql(sql).all()]
                   for name, sql in REPORTS.items()}
    expected = expected_reports(conversations)
    for averaged in ("handle time per queue", "talk time per agent"):  # seconds, rounded to a tenth
        assert [(key, n) for key, n, _ in results[averaged]] == [(key, n) for key, n, _ in expected[averaged]]
        for (_, _, got), (_, _, want) in zip(results[averaged], expected[averaged]):
            assert abs(float(got) - want) <= 0.051
    assert [(str(day), media, count) for day, media, count in results["conversations per media type per day"]] == \
        expected["conversations per media type per day"]
