"""Where things live: the Ansible content shipped with the tool, and the user's state and cache."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def ansible_root() -> Path:
    """The directory holding `playbooks/`, `roles/` and `inventories/`.

    From a checkout that is the repository root; from an installed wheel the copies bundled
    under `bigdata_admin/_bundled/`.
    """
    checkout = _PACKAGE_DIR.parent
    if (checkout / "playbooks" / "site.yml").is_file() and (checkout / "roles").is_dir():
        return checkout
    bundled = _PACKAGE_DIR / "_bundled"
    if (bundled / "playbooks").is_dir():
        return bundled
    raise FileNotFoundError(f"no playbooks found next to {_PACKAGE_DIR} nor bundled inside it")


def playbooks_dir() -> Path:
    return ansible_root() / "playbooks"


def roles_dir() -> Path:
    return ansible_root() / "roles"


def inventory_templates_dir() -> Path:
    return ansible_root() / "inventories"


def playbook(name: str) -> Path:
    """Path of a root playbook, e.g. `playbook("site")`."""
    return playbooks_dir() / (name if name.endswith(".yml") else f"{name}.yml")


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def state_dir() -> Path:
    """Run directories, secrets and lab state. `BIGDATA_ADMIN_STATE_DIR` overrides."""
    override = os.environ.get("BIGDATA_ADMIN_STATE_DIR")
    return Path(override) if override else _xdg("XDG_STATE_HOME", ".local/state") / "bigdata-admin"


def cache_dir() -> Path:
    """The artifact cache on the control host. `BIGDATA_ADMIN_CACHE_DIR` overrides."""
    override = os.environ.get("BIGDATA_ADMIN_CACHE_DIR")
    return Path(override) if override else _xdg("XDG_CACHE_HOME", ".cache") / "bigdata-admin" / "artifacts"


def runs_dir() -> Path:
    return state_dir() / "runs"


def secrets_dir(cluster_name: str) -> Path:
    """Generated passwords for one cluster, mode 0700, files 0600."""
    return state_dir() / "secrets" / cluster_name
