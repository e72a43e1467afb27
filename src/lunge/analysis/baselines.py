"""The project-local baseline store: `.lunge/baselines/` under the current directory, one
JSON result per (test, environment), named `<test>@<environment>.json` with every
character outside [A-Za-z0-9._-] replaced by `_`.  The files are ordinary lunge results
(`lunge compare` reads them too) and are meant to be committed with the project.
"""
from __future__ import annotations

import os
import re

from lunge.errors import ConfigError

STORE = os.path.join(".lunge", "baselines")


def path_for(test: str, environment: str | None, root: str = ".") -> str:
    slug = re.sub(r"[^A-Za-z0-9._@-]+", "_", f"{test}@{environment or 'default'}").strip("_")
    return os.path.join(root, STORE, slug + ".json")


def save(document_json: str, test: str, environment: str | None, root: str = ".") -> str:
    path = path_for(test, environment, root)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(document_json)
        os.replace(tmp, path)  # a crash never leaves half a baseline
    except OSError as e:
        raise ConfigError(f"--baseline: cannot write {path!r} ({e.strerror})") from None
    return path


def find(test: str, environment: str | None, root: str = ".") -> str | None:
    path = path_for(test, environment, root)
    return path if os.path.exists(path) else None
