"""A fake Genesys Cloud org and API server, for the tests and for trying `flatten genesys` without an org.

    python -m genesys.testing --conversations 2000 --port 8089

prints the environment variables that point the `flatten genesys` commands at it.
"""

from .faults import Fault, Faults
from .org import FakeOrg, query_variant
from .server import ALL_PERMISSIONS, FakeGenesys, FakeOptions

__all__ = ["ALL_PERMISSIONS", "FakeGenesys", "FakeOptions", "FakeOrg", "Fault", "Faults", "query_variant"]
