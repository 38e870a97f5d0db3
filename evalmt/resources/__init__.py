"""Files shipped inside the package: the user's bundled bilingual sample pages."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def samples_dir() -> Path:
    """Return the folder of the bundled sample pages inside the installed package."""
    return Path(str(resources.files(__name__) / "samples"))


def sample_paths() -> list[Path]:
    """Return the bundled sample pages (``*.txt``), sorted by name."""
    return sorted(p for p in samples_dir().iterdir() if p.suffix == ".txt")
