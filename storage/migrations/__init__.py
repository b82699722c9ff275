"""Versioned schema migrations, one ``NNNN_name.sql`` file per step and backend."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "migrations"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema step."""

    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """Every migration of ``backend`` ("sqlite" or "postgres"), in order."""
    folder = resources.files(__package__).joinpath(backend)
    found = []
    for item in folder.iterdir():
        if item.name.endswith(".sql"):
            number, _, rest = item.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), item.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"{backend} migrations need distinct positive numbers: {versions}")
    return found
