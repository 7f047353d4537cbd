"""Reading rendered Hadoop-style `*-site.xml` files in the render tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def parse_site(path: Path) -> dict[str, str]:
    """name -> value of a `<configuration>` file; fails on duplicates and untemplated text."""
    root = ET.parse(path).getroot()
    assert root.tag == "configuration", path
    out: dict[str, str] = {}
    for prop in root.findall("property"):
        name, value = prop.findtext("name"), prop.findtext("value")
        assert name and value is not None, f"{path}: property without name or value"
        assert name not in out, f"{path}: {name} appears twice"
        assert "{{" not in name and "{{" not in value, f"{path}: {name} was not templated"
        out[name] = value
    return out
