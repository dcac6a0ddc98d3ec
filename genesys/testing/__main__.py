"""Serve a fake Genesys Cloud org on 127.0.0.1, to try `flatten genesys` without an org.

    python -m genesys.testing --conversations 2000 --port 8089
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

from ..intervals import format_instant, parse_instant
from . import FakeGenesys, FakeOptions, FakeOrg, Faults
from .faults import KINDS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m genesys.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--start", default="2024-05-01", help="when the first conversation starts (UTC)")
    parser.add_argument("--spacing", type=float, default=120.0, help="seconds between conversation starts")
    parser.add_argument("--available", help="the datalake's dataAvailabilityDate (default: 2 hours ago)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of API calls answered by a fault")
    parser.add_argument("--fault-kinds", default="429,502,503,504,drop",
                        help=f"comma-separated faults to draw from (default: %(default)s; known: {','.join(KINDS)})")
    parser.add_argument("--rate-limit", type=int, default=300,
                        help="requests per token per minute before a 429 with Retry-After, as the API's "
                             "(default: %(default)s; 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    org = FakeOrg.generate(arguments.conversations, arguments.seed, parse_instant(arguments.start),
                           timedelta(seconds=arguments.spacing),
                           parse_instant(arguments.available) if arguments.available else None)
    kinds = tuple(kind.strip() for kind in arguments.fault_kinds.split(",") if kind.strip())
    try:
        faults = Faults(arguments.fault_rate, kinds, seed=arguments.seed)
    except ValueError as error:
        parser.error(str(error))
    options = FakeOptions(token_rate_limit=arguments.rate_limit or None)
    with FakeGenesys(org, options, faults=faults, port=arguments.port) as server:
        conversations = org.all()
        print(f"fake Genesys Cloud at {server.url}: {len(org)} conversations from "
              f"{conversations[0]['conversationStart']} to {conversations[-1]['conversationStart']}"
              if conversations else f"fake Genesys Cloud at {server.url}: no conversations")
        for name, value in server.environment().items():
            print(f"export {name}={value}")
        if org.data_availability:
            print(f"data availability date: {format_instant(org.data_availability)}")
        sys.stdout.flush()  # seen at once through a pipe, not when the server stops
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
