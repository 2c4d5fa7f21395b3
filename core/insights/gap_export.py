"""Knowledge gaps as Markdown files a help center imports: one file per gap, YAML front matter
(title, the intent or cluster, score, reasons, tickets, ``status: draft``, the generation date)
and the proposed article as the body.

Every front-matter value is written as JSON (a double-quoted string, a number, a list): JSON is
YAML, so any YAML reader parses it, and a label holding a colon, a quote or ``---`` cannot end the
front matter or change its meaning. File names come from the rank and a slug of the label
(letters, digits and dashes only), so a label like ``../x`` or ``a/b`` names a file inside the
folder and nowhere else. The folder appears whole or not at all: the files are written to a
temporary folder beside it, which is renamed into place at the end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from core.errors import BadInput
from core.insights.knowledge_gaps import KnowledgeGap, KnowledgeGapReport

SLUG_CHARS = 60


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single dashes (``gap`` when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:SLUG_CHARS].strip("-") or "gap"


def file_name(rank: int, gap: KnowledgeGap) -> str:
    return f"{rank:02d}-{slug(gap.label)}.md"


def _value(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _plain(text: str) -> str:
    """One line with no control or format characters (a YAML reader would refuse or break on some)."""
    return "".join(c for c in " ".join(text.split()) if unicodedata.category(c)[0] != "C")


def markdown(gap: KnowledgeGap, generated: str) -> str:
    """The gap's article: front matter, the answer, other answers, the questions it answers."""
    article = gap.article
    front = {
        "title": _plain(article.title), "kind": gap.kind, gap.kind: _plain(gap.label), "key": _plain(gap.key),
        "score": gap.score, "reasons": [_plain(r.detail) for r in gap.reasons], "tickets": gap.tickets,
        "status": "draft", "basis": article.basis, "generated": generated,
    }
    lines = ["---", *(f"{k}: {_value(v)}" for k, v in front.items()), "---", ""]
    lines += [article.answer or "_No well-rated reply to draft from yet._", ""]
    if article.alternatives:
        lines += ["## Other ways agents answered", ""]
        for text in article.alternatives:
            lines += [text, ""]
    if article.questions:
        lines += ["## Questions this answers", "", *(f"- {_plain(q)}" for q in article.questions), ""]
    return "\n".join(lines)


def check_target(directory: Path) -> None:
    """Refuse a folder that cannot receive the export, before any work is done."""
    if not directory.parent.is_dir():
        raise BadInput(f"no folder {directory.parent} to write the articles in", field="--export")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BadInput(f"{directory} exists and is not an empty folder: name a new one", field="--export")


def write_articles(report: KnowledgeGapReport, directory: Path) -> list[Path]:
    """One Markdown file per gap in ``directory`` (new or empty), all of them or none."""
    check_target(directory)
    generated = report.generated_at.date().isoformat()
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        names = []
        for rank, gap in enumerate(report.gaps, 1):
            name = file_name(rank, gap)
            (staging / name).write_text(markdown(gap, generated), encoding="utf-8")
            names.append(name)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; the export is meant to be shared
        if directory.exists():
            directory.rmdir()  # empty (checked above): the rename below needs the name free
        staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [directory / n for n in names]
