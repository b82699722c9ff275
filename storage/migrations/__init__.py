"""Versioned schema migrations, one ``NNNN_name.sql`` file per step and backend."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "migrations", "schema_problem"]


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


def schema_problem(where: str, applied: Collection[int], backend: str) -> str | None:
    """What is wrong with a database that had ``applied`` migrations, or ``None``.

    Versions are compared as sets, not by the highest one: migrations may land out of
    number order (numbers are reserved per feature), and a database at {1, 3} still lacks 2.
    """
    known = {m.version for m in migrations(backend)}
    missing, unknown = sorted(known - set(applied)), sorted(set(applied) - known)
    if unknown:
        return (
            f"{where} has schema migrations {unknown} that this code does not know: "
            "deploy the newer Switchboard, or restore a backup taken before the upgrade"
        )
    if missing:
        return (
            f"{where} is at schema version {max(applied, default=0)} and lacks "
            f"{', '.join(f'{v:04d}' for v in missing)} that this code needs: "
            "run `switchboard db upgrade`"
        )
    return None
