"""Reference documents a judge reads: a project's docs, searched and paged, never read whole.

A judge declares `references: [docs/, style.md]` (files or folders in the project, Markdown,
text, reStructuredText, HTML read as its text, PDF through pypdf, the `references` extra).
The documents are split into passages at headings and blank lines (at most `PASSAGE`
characters each) and ranked by BM25 against a query. A passage is named `path#offset` (its
first character in the document), so a verdict's cited passage can be found again. The
content hash of every document (`digest`) is part of the judge's version: editing the docs
re-scores exactly the judges that read them.

Reference text is data: it reaches a judge model JSON-encoded inside the same nonce boundary
as trace content (see `_prompt`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError

SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".html", ".htm", ".pdf")
PASSAGE = 1_200  # characters of one passage at most
MAX_DOCUMENTS = 5_000
MAX_BYTES = 2_000_000  # of one document
_WORD = re.compile(r"[a-z0-9]+")
_HEADING = re.compile(r"^(#{1,6}\s|\S.*\n[=-]{3,}\s*$)", re.M)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "you",
        "your",
        "we",
        "our",
        "not",
        "no",
    ]
)


def words(text: str) -> list[str]:
    """Lower-case word tokens, stop words left out (what BM25 ranks on)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):  # headings as Markdown's, so passages know them
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in ("p", "div", "section", "article"):
            self.parts.append("\n\n")
        elif tag in ("br", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def _pdf(path: Path) -> str:
    """A PDF's text, page by page, through pypdf (the `references` extra)."""
    try:
        import pypdf
    except ImportError:
        raise ConfigError(
            f"references: {path.name} is a PDF; reading PDFs needs pypdf: "
            "pip install 'costar[references]'"
        ) from None
    try:
        reader = pypdf.PdfReader(path)
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except Exception as exc:  # pypdf's errors for broken or encrypted files
        raise ConfigError(f"references: cannot read the PDF {path.name}: {exc}") from exc
    return "\n\n".join(p for p in pages if p)[:MAX_BYTES]


def _read(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        return _pdf(path)
    raw = path.read_bytes()[:MAX_BYTES].decode("utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _Text()
        parser.feed(raw)
        return re.sub(r"\n{3,}", "\n\n", "".join(parser.parts)).strip()
    return raw


@dataclass(frozen=True)
class Passage:
    """A piece of one document: its path, where it starts, the heading above it, its text."""

    doc: str
    offset: int
    heading: str
    text: str

    @property
    def ref(self) -> str:
        return f"{self.doc}#{self.offset}"


def _passages(doc: str, text: str) -> list[Passage]:
    out: list[Passage] = []
    heading = ""
    for block in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text):
        body, start = block.group(0), block.start()
        if _HEADING.match(body):
            heading = body.splitlines()[0].lstrip("# ").strip()
        while body:
            piece = body[:PASSAGE]
            if len(body) > PASSAGE and " " in piece:
                piece = piece[: piece.rfind(" ")]
            out.append(Passage(doc, start, heading, piece.strip()))
            start += len(piece)
            body = body[len(piece) :].lstrip()
    return out


class References:
    """The documents of one judge's `references`, with BM25 search over their passages."""

    def __init__(self, root: Path, paths: list[str]):
        self.root = root
        self.paths = list(paths)
        self.documents: dict[str, str] = {}
        for entry in paths:
            target = (root / entry).resolve()
            if not target.exists():
                raise ConfigError(
                    f"references: {entry!r} does not exist under {root} (name files or folders "
                    "of the project, relative to costar.toml)"
                )
            files = (
                sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
                if target.is_dir()
                else [target]
            )
            for path in files:
                try:
                    name = path.relative_to(root.resolve()).as_posix()
                except ValueError:
                    name = path.as_posix()
                self.documents[name] = _read(path)
                if len(self.documents) > MAX_DOCUMENTS:
                    raise ConfigError(f"references: more than {MAX_DOCUMENTS} documents")
        self.passages = [p for d, t in self.documents.items() for p in _passages(d, t)]
        self._terms = [Counter(words(f"{p.heading} {p.text}")) for p in self.passages]
        self._lengths = [sum(t.values()) for t in self._terms]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 1.0
        frequency: Counter[str] = Counter()
        for terms in self._terms:
            frequency.update(terms.keys())
        n = len(self.passages)
        self._idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in frequency.items()}

    @property
    def digest(self) -> str:
        """Hash of every document's path and content (part of the judge's version)."""
        h = hashlib.sha256()
        for name in sorted(self.documents):
            h.update(name.encode() + b"\0" + self.documents[name].encode() + b"\0")
        return h.hexdigest()[:16]

    def rank(self, query: str, k1: float = 1.5, b: float = 0.75) -> list[tuple[float, Passage]]:
        """Passages by BM25 score against `query`, best first (score > 0 only)."""
        terms = set(words(query))
        scored = []
        for i, tf in enumerate(self._terms):
            score = 0.0
            norm = k1 * (1 - b + b * self._lengths[i] / self._avg)
            for term in terms & tf.keys():
                f = tf[term]
                score += self._idf[term] * f * (k1 + 1) / (f + norm)
            if score > 0:
                scored.append((score, self.passages[i]))
        scored.sort(key=lambda item: (-item[0], item[1].doc, item[1].offset))
        return scored

    def passage(self, ref: str) -> Passage | None:
        """The passage named `path#offset`, or the one that holds that offset."""
        doc, _, at = ref.rpartition("#")
        if not doc or not at.isdigit():
            return None
        found = None
        for p in self.passages:
            if p.doc == doc and p.offset <= int(at):
                found = p
        return found

    def search(self, query: str, offset: int = 0, limit: int = 8) -> dict[str, Any]:
        """One page of ranked passages (ref, document, heading, a snippet of the passage)."""
        ranked = self.rank(query)
        page = ranked[offset : offset + limit]
        nxt = offset + len(page) if offset + len(page) < len(ranked) else None
        items = [
            {
                "ref": p.ref,
                "doc": p.doc,
                "heading": p.heading,
                "score": round(s, 3),
                "snippet": p.text[:600],
            }
            for s, p in page
        ]
        return {"total": len(ranked), "offset": offset, "next_offset": nxt, "items": items}

    def read(self, doc: str, offset: int = 0, size: int = 6_000) -> dict[str, Any]:
        """A page of one document from `offset` (characters)."""
        if doc not in self.documents:
            if "#" in doc and doc.rpartition("#")[0] in self.documents:
                doc, _, at = doc.rpartition("#")
                offset = int(at) if at.isdigit() else offset
            else:
                shown = ", ".join(sorted(self.documents)[:20])
                raise KeyError(f"no reference document {doc!r} (documents: {shown})")
        text = self.documents[doc]
        chunk = text[offset : offset + size]
        nxt = offset + len(chunk) if offset + len(chunk) < len(text) else None
        return {
            "doc": doc,
            "total_chars": len(text),
            "offset": offset,
            "next_offset": nxt,
            "content": chunk,
        }

    def relevant(self, query: str, budget: int, count: Any) -> list[Passage]:
        """The best passages for `query` whose texts fit in `budget` tokens (`count` counts)."""
        chosen, used = [], 0
        for _, p in self.rank(query):
            cost = count(p.text) + 8
            if used + cost > budget:
                continue
            chosen.append(p)
            used += cost
        return chosen

    def cited(self, refs: list[Any], limit: int = 500) -> list[dict[str, Any]]:
        """The passages a verdict cites (refs it does not have are dropped)."""
        out: list[dict[str, Any]] = []
        for ref in refs:
            p = self.passage(str(ref))
            if p is not None and all(c["ref"] != p.ref for c in out):
                out.append(
                    {"ref": p.ref, "doc": p.doc, "heading": p.heading, "text": p.text[:limit]}
                )
        return out


_CACHE: dict[tuple[str, tuple[str, ...], tuple[tuple[str, int, int], ...]], References] = {}


def load_references(root: Path, paths: list[str]) -> References:
    """References for these paths, reused while no file under them changed (size, mtime)."""
    stamp = []
    for entry in paths:
        target = root / entry
        files = (
            [target] if target.is_file() else sorted(target.rglob("*")) if target.exists() else []
        )
        for f in files:
            if f.is_file():
                st = f.stat()
                stamp.append((str(f), st.st_size, st.st_mtime_ns))
    key = (str(root.resolve()), tuple(paths), tuple(stamp))
    if key not in _CACHE:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = References(root, paths)
    return _CACHE[key]
