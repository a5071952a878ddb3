"""Seed-expansion stages. Importing this package registers every generator module in it.

Each module registers its stage with `@generators.register(name)`; the registry in
`benchsmith.stages` imports this package on first lookup, so a suite spec can name any
generator here without anyone importing its module by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

# Discover rather than list: a new generator module registers itself just by existing.
# Modules starting with '_' are private helpers and are skipped.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
