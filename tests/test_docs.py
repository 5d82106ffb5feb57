"""The docs stay true: every relative link and #anchor resolves, every `fame-tf` option they write
exists, the README stays a page a newcomer reads in five minutes, and they speak of the product.
(Generated tables are checked against their results files in test_bench.py.)"""

import pathlib
import re

import click
import pytest

from fame_cli import main as cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)


def anchors(page: pathlib.Path) -> set:
    """GitHub's anchors of a page's headings: lowercase, punctuation dropped, spaces to '-', repeats numbered."""
    seen, found = {}, set()
    for line in FENCE.sub("", page.read_text()).splitlines():
        heading = re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if not count else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(page):
    broken = []
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert not broken, broken


def _command(words):
    """The click command of `fame-tf WORDS...` and the words that named it."""
    command, used = cli, []
    for word in words:
        if isinstance(command, click.Group) and word in command.commands:
            command, used = command.commands[word], used + [word]
        else:
            break
    return command, used


def _options(command) -> set:
    names = {"--help"}
    for param in command.params:
        names.update(param.opts + param.secondary_opts)
    return names


def test_every_fame_tf_option_in_the_docs_exists():
    unknown = []
    for page in PAGES:
        text = page.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            for invocation in re.findall(r"fame-tf((?:\s+[a-z][\w-]*)+)([^`|\n]*)", line):
                command, used = _command(invocation[0].split())
                if not used:
                    continue
                rest = " ".join(invocation[0].split()[len(used):]) + invocation[1]
                for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest):
                    if option not in _options(command):
                        unknown.append(f"{page.relative_to(ROOT)}: fame-tf {' '.join(used)} {option}")
    assert not unknown, sorted(set(unknown))


def test_the_readme_is_short_and_answers_first():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, len(lines)
    head = "\n".join(lines[:120]).lower()
    for needed in ("make run", "make test", "fame-tf train", "curl", "load_model", "ndcg@10"):
        assert needed in head, needed


INTERNAL = re.compile(r"\b(sessions?|issues? #?\d*|tickets?|development machines?|queue paused|working period|"
                      r"the quality issue|planned \d+, cut to \d+)\b", re.I)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_docs_speak_of_the_product(page):
    found = sorted({m.group(0) for m in INTERNAL.finditer(page.read_text())})
    assert not found, found
