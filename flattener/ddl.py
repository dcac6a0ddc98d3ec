"""The plan's tables as SQLAlchemy Core `Table`s: CREATE TABLE / CREATE INDEX for any dialect."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .plan import Plan, short_name

DIALECTS = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}


def build_metadata(plan: Plan) -> sa.MetaData:
    metadata = sa.MetaData()
    for table in plan.tables:  # parents come first, so foreign keys resolve
        names = table.column_names
        key = (names[i] for i in table.primary_key)
        constraints = [sa.PrimaryKeyConstraint(*key, name=short_name(f"pk_{table.name}"))]
        if table.parent is not None and plan.mapping.foreign_keys:
            parent = table.parent
            constraints.append(sa.ForeignKeyConstraint(
                names[: table.inherited],
                [f"{parent.name}.{parent.columns[i].name}" for i in parent.primary_key],
                name=short_name(f"fk_{table.name}_{parent.name}"),
            ))
        sa_table = sa.Table(
            table.name,
            metadata,
            *(sa.Column(column.name, column.codec.sql_type(), nullable=column.nullable) for column in table.columns),
            *constraints,
        )
        for columns in dict.fromkeys(table.indexes):  # declared once, even if asked for twice
            sa.Index(short_name(f"ix_{table.name}_{'_'.join(columns)}"), *(sa_table.c[name] for name in columns))
    return metadata


def create_statements(plan: Plan, dialect_name: str) -> list[str]:
    """Deterministic DDL text for `flatten generate-ddl`."""
    dialect = DIALECTS[dialect_name]()
    metadata = build_metadata(plan)
    statements = []
    for sa_table in (metadata.tables[table.name] for table in plan.tables):
        statements.append(str(sa.schema.CreateTable(sa_table).compile(dialect=dialect)).strip())
        for index in sorted(sa_table.indexes, key=lambda index: index.name):
            statements.append(str(sa.schema.CreateIndex(index).compile(dialect=dialect)).strip())
    return [statement + ";" for statement in statements]
