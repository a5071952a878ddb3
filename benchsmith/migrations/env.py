"""Alembic environment of the workspace database.

Normally run by `benchsmith.migrations.upgrade`, which hands over an open connection in
`config.attributes["connection"]` (inside its transaction and lock). From the `alembic`
command line (developers: `python -m benchsmith.migrations`), the URL comes from
`-x url=…`, the config's `sqlalchemy.url` or `BENCHSMITH_DB`.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from benchsmith.migrations import target_metadata

config = context.config


def _configure(**kwargs: Any) -> None:
    # render_as_batch: ALTERs on SQLite become copy-and-rename, so one migration runs on both databases.
    # The models are only needed to autogenerate a revision; `upgrade` (every store opening) skips
    # importing them.
    with_models = config.attributes.get("with_models", config.attributes.get("connection") is None)
    metadata = target_metadata() if with_models else None
    context.configure(target_metadata=metadata, render_as_batch=True, compare_type=True, **kwargs)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") \
        or os.environ.get("BENCHSMITH_DB")
    if not url:
        raise SystemExit("no database: pass -x url=…, or set sqlalchemy.url or BENCHSMITH_DB")
    return url


def _online(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if context.is_offline_mode():
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif given is not None:
    _online(given)
else:
    engine = create_engine(_url())
    with engine.connect() as conn:
        _online(conn)
        conn.commit()
    engine.dispose()
