"""Developer tool: `python -m benchsmith.migrations revision -m "what changed"`.

Upgrades a scratch SQLite database to the newest revision, compares it with the models
(`Base.metadata`) and writes the difference as the next revision in `versions/`
(`r<NNNN>_<slug>.py`). Read it and fix what autogenerate cannot know (data moves, server
defaults for new NOT NULL columns) before committing; `tests/test_migrations.py` checks
that models and migrations then agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from sqlalchemy import create_engine

from benchsmith import migrations


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchsmith.migrations")
    sub = ap.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="write the next revision from the models")
    rev.add_argument("-m", "--message", required=True)
    sub.add_parser("heads", help="print the newest revision")
    args = ap.parse_args()
    if args.command == "heads":
        print(migrations.head())
        return
    from alembic import command

    number = int(migrations.head().split("_", 1)[0]) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")[:40]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        migrations.upgrade(engine)
        with engine.begin() as conn:
            cfg = migrations.config(conn)
            cfg.set_main_option("file_template", "r%%(rev)s")
            cfg.attributes["with_models"] = True
            script = command.revision(cfg, message=args.message, autogenerate=True, rev_id=f"{number:04d}_{slug}")
        engine.dispose()
    print(f"wrote {getattr(script, 'path', script)}")


if __name__ == "__main__":
    main()
