"""`make bench`: run every benchmark module in this folder and print its figures.

Each module ``bench/<name>.py`` has a ``main()`` that seeds what it needs into a
throw-away test database, measures, and prints. Run on PostgreSQL (set
DATABASE_URL) for figures that mean something. ``python -m bench NAME`` runs one.
"""

import importlib
import os
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import django

    django.setup()
    wanted = set(sys.argv[1:])
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    for name in names:
        if name.startswith("_") or (wanted and name not in wanted):
            continue
        print(f"\n=== bench: {name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
