"""Load an NDJSON file of conversations with dlt, for the benchmark's comparison.

Runs in its own virtual environment (bench/.dlt-venv), since dlt is no dependency of flatten.
Uses dlt's defaults: its normalizer unnests the documents into child tables and its preferred
loader file format for the destination. Prints one JSON line: documents, rows and seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def documents(path: str):
    with open(path, "rb") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", help="NDJSON input, one conversation per line")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), required=True)
    parser.add_argument("--url", required=True, help="postgresql://... or sqlite:///...")
    parser.add_argument("--dataset", required=True, help="schema (PostgreSQL) or dataset name for the tables")
    parser.add_argument("--work-dir", required=True, help="where dlt keeps its pipeline state and load packages")
    arguments = parser.parse_args()

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt insists on a PostgreSQL password even where the server trusts local connections
    os.environ.setdefault("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", "unused")
    os.environ["DLT_DATA_DIR"] = arguments.work_dir
    import dlt  # after the environment is set: dlt reads it on import

    started = time.perf_counter()
    destination = (dlt.destinations.postgres(credentials=arguments.url) if arguments.database == "postgresql"
                   else dlt.destinations.sqlalchemy(credentials=arguments.url))
    pipeline = dlt.pipeline(pipeline_name="flatten_bench", destination=destination, dataset_name=arguments.dataset,
                            pipelines_dir=arguments.work_dir)
    pipeline.run(documents(arguments.file), table_name="conversations")
    seconds = time.perf_counter() - started
    row_counts = pipeline.last_trace.last_normalize_info.row_counts
    tables = {name: count for name, count in row_counts.items() if not name.startswith("_dlt")}
    print(json.dumps({"documents": tables.get("conversations", 0), "rows": sum(tables.values()),
                      "tables": tables, "seconds": seconds, "dlt": dlt.__version__}))


if __name__ == "__main__":
    main()
