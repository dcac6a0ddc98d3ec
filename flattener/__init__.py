"""flatten: nested JSON into relational SQL tables from a declarative YAML mapping, and back, exactly.

Data flows one way: mapping -> plan -> rows -> database -> rows -> document.
"""

from .compiled import prefer_current_sources

prefer_current_sources()  # before the modules it may have to give from source are imported

from .errors import DatabaseError, DocumentError, FlattenError, InputError, MappingError
from .flatten import FlatDocument, Flattener
from .load import Loader, bulk_mode, verify
from .mapping import Mapping, load_mapping, parse_mapping
from .plan import Plan, compile_plan, open_plan
from .rebuild import Rebuilder
from .sources import read_documents
from .store import Session, Store, create_engine

__all__ = [
    "DatabaseError", "DocumentError", "FlatDocument", "FlattenError", "Flattener", "InputError", "Loader", "bulk_mode",
    "Mapping", "MappingError", "Plan", "Rebuilder", "Session", "Store", "compile_plan", "create_engine", "load_mapping",
    "open_plan", "parse_mapping", "read_documents", "verify",
]
