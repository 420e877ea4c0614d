"""The benchmarks that measure on ../shared/data stop with one line when it is not there (a fresh clone has none)."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_shared_data(data: Path, needs: str) -> Path:
    """Exit with `error: ...` and code 2 unless `data` holds the corpus's manifest.csv."""
    if not (Path(data) / "manifest.csv").is_file():
        print(f"error: this benchmark needs {needs} from ../shared/data; {data}/manifest.csv not found (pass --data DIR)", file=sys.stderr)
        sys.exit(2)
    return Path(data)
