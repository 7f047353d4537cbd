"""Writing inventories from the shipped templates (`bigdata-admin init`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bigdata_admin import paths
from bigdata_admin.errors import BadInput
from bigdata_admin.inventory import INVENTORY_FILE_NAMES

TEMPLATES = ("single-node", "classroom", "ha")


def template_dir(name: str) -> Path:
    if name not in TEMPLATES:
        raise BadInput(f"unknown inventory template {name!r}", fix=f"Use one of: {', '.join(TEMPLATES)}.")
    return paths.inventory_templates_dir() / name


def init_inventory(directory: Path, template: str, *, force: bool = False) -> list[Path]:
    """Copy template `template` into `directory`; refuse to overwrite an inventory unless `force`."""
    source = template_dir(template)
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"{directory} exists and is not a directory",
                       fix="Pass a new or existing directory to `bigdata-admin init`.")
    files = sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    targets = [directory / p.relative_to(source) for p in files]
    existing = [t for t in targets if t.exists()]
    existing += [directory / n for n in INVENTORY_FILE_NAMES
                 if (directory / n).exists() and directory / n not in existing]
    if existing and not force:
        raise BadInput(f"{directory} already holds an inventory ({', '.join(str(e) for e in existing)})",
                       fix=f"Choose another directory, or add --force to overwrite it with the {template} "
                           "template.")
    for src, dst in zip(files, targets, strict=True):
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return targets
