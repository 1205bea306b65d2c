"""The README and docs/ stay navigable: every relative link and #anchor resolves, every
repository path they name exists, and the README stays a front page (at most 350 lines)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w/$.~-])((?:assistant|bench|tests|ui|index)/[\w./-]*\w)")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    heads = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in anchors(dest)):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_repository_paths_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    if page.name == "architecture.md":  # its table of old module paths names what is gone
        text = text.split("| old | new |")[0]
    missing = sorted({p for p in PATH.findall(text) if not (ROOT / p).exists()
                      and not re.search(r"[<*]|index/(default|<)", p)})
    assert not missing, f"{page.name}: {missing}"


def test_the_readme_is_a_front_page() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 350
    assert text.index("make run") < text.index("## Install")  # the two commands come first
    assert "make test" in text.split("## Install")[0]
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in text, f"the README does not link {page.name}"


def test_the_link_checker_sees_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "a.md"
    page.write_text("# Title\n\n## Sub part: two\n", encoding="utf-8")
    assert anchors(page) == {"title", "sub-part-two"}
