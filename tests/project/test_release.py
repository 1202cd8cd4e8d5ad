"""Release habits: the version in every row's provenance is the changelog's newest, and the citation's."""

import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]


def _version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def test_changelog_names_the_package_version_first():
    headings = re.findall(r"^## (\d+\.\d+\.\d+)", (REPO / "CHANGELOG.md").read_text(), flags=re.M)
    assert headings and headings[0] == _version()


def test_citation_version_matches():
    assert re.search(r'^version: "?([^"\n]+)"?$', (REPO / "CITATION.cff").read_text(), flags=re.M).group(1) \
        == _version()


def test_ruff_and_snakefmt_share_one_line_length():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert cfg["tool"]["ruff"]["line-length"] == cfg["tool"]["snakefmt"]["line_length"]
