"""Every relative link in the README, the changelog and docs/ leads to a file.

Pure Python (no Keras), so it runs the same under every backend. Web and mail
links are not followed; a link's `#anchor` is dropped and its file checked.
"""

import glob
import os
import re
import urllib.parse

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# [text](target) and ![alt](target), the text possibly holding `code` or one
# level of brackets; the target optionally in <...> and followed by a "title".
INLINE_LINK = re.compile(
    r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
# [label]: target, a reference-style link definition on a line of its own.
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
FENCED_BLOCK = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")  # http:, mailto:, ...


def documents():
    """README.md, CHANGELOG.md and every Markdown page under docs/."""
    paths = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "CHANGELOG.md")]
    paths += glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
    return sorted(os.path.relpath(path, ROOT) for path in paths)


def relative_links(text):
    """The link targets of Markdown `text` that are paths in this repository."""
    # A link inside a code block or a code span is example text, not a link.
    text = FENCED_BLOCK.sub("", text)
    text = CODE_SPAN.sub("", text)
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def broken_links(path, root=ROOT):
    """(target, reason) for every relative link of the file at `path` that
    does not resolve to an existing file or folder inside `root`."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    broken = []
    for target in relative_links(text):
        file_part = urllib.parse.unquote(target.split("#", 1)[0].split("?", 1)[0])
        if file_part.startswith("/"):
            resolved = os.path.join(root, file_part.lstrip("/"))
        else:
            resolved = os.path.join(os.path.dirname(path), file_part)
        resolved = os.path.realpath(resolved)
        if os.path.commonpath([resolved, root]) != root:
            broken.append((target, "outside the repository"))
        elif not os.path.exists(resolved):
            broken.append((target, "no such file"))
    return broken


def test_the_documents_exist_and_have_links():
    assert "README.md" in documents() and "CHANGELOG.md" in documents()
    assert len(documents()) > 2, "docs/ has no Markdown pages"
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        assert relative_links(file.read()), "no relative link found in the README"


@pytest.mark.parametrize("document", documents())
def test_relative_links_resolve(document):
    broken = broken_links(os.path.join(ROOT, document))
    assert not broken, f"{document}: broken links {broken}"


def test_a_broken_link_is_found(tmp_path):
    root = os.path.realpath(tmp_path)
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    (tmp_path / "README.md").write_text("top\n")
    page.write_text(
        "[ok](../README.md#top) [gone](missing.md#part) ![fig](figures/none.png)\n"
        "[web](https://example.com/x.md) [mail](mailto:a@b.c) [here](#part)\n"
        "`[in code](nowhere.md)`\n\n```\n[in a block](nowhere.md)\n```\n"
        "[up](../../README.md)\n\n[ref]: ../nothing.md\n"
    )
    assert broken_links(str(page), root) == [
        ("missing.md#part", "no such file"),
        ("figures/none.png", "no such file"),
        ("../../README.md", "outside the repository"),
        ("../nothing.md", "no such file"),
    ]
