"""The README's settings table and labelops/settings.py name the same variables, both ways."""

from __future__ import annotations

import re
from pathlib import Path

from labelops.settings import CrawlSettings, Settings

PROJECT = Path(__file__).resolve().parent.parent
NESTED = {"crawl"}  # Settings.crawl is CrawlSettings, read from its own prefix


def settings_variables() -> set[str]:
    """Every environment variable the two settings classes read."""
    names = set()
    for cls in (Settings, CrawlSettings):
        prefix = cls.model_config["env_prefix"]
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields if field not in NESTED}
    return names


def readme_variables() -> set[str]:
    """The variables of the README's settings table: a row's first cell names one or more
    (``LABELOPS_X`` / ``_Y``: a short form keeps the first one's prefix, LABELOPS_CRAWL_ or LABELOPS_)."""
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        full = None
        for name in re.findall(r"`([A-Z_]+)`", cell):
            if name.startswith("LABELOPS_"):
                full = name
                names.add(name)
            elif name.startswith("_") and full:
                prefix = "LABELOPS_CRAWL" if full.startswith("LABELOPS_CRAWL_") else "LABELOPS"
                names.add(prefix + name)
    return names


def test_the_settings_table_and_the_settings_agree():
    in_code, in_readme = settings_variables(), readme_variables()
    assert not in_code - in_readme, f"settings the README's table leaves out: {sorted(in_code - in_readme)}"
    assert not in_readme - in_code, f"README rows no setting reads: {sorted(in_readme - in_code)}"


def test_the_commands_table_is_one_table_with_every_command():
    from typer.main import get_command

    from app.cli import app

    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| command |", 1)[1].split("\n\n", 1)[0]  # a blank line would end the table
    listed = set(re.findall(r"^\| `labelops ([\w-]+)", table, re.M))
    assert set(get_command(app).commands) <= listed, sorted(set(get_command(app).commands) - listed)
