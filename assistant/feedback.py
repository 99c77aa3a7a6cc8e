"""The feedback log: one JSON line per like/dislike, with what the advisor needs to review it."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.errors import StoreError
from assistant.models import Answer

_LOCK = threading.Lock()


def record(path: Path, *, liked: bool, question: str, answer: Answer) -> dict[str, Any]:
    """Append one feedback row (question, answer, citations, index build, time) and return it."""
    row = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "liked": liked,
        "question": question,
        "answer": answer.text,
        "refused": answer.refused,
        "mode": answer.mode,
        "build_id": answer.build_id,
        "citations": [{"n": c.n, "chunk_id": c.chunk_id, "title": c.title, "section": c.section} for c in answer.citations],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK, open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise StoreError(f"Cannot write the feedback log {path} ({e.strerror}); set ASSISTANT_FEEDBACK_PATH "
                         "to a writable file.") from e
    return row


def read(path: Path) -> list[dict[str, Any]]:
    """All feedback rows, disliked first, newest first within each group; unreadable lines skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    rows.sort(key=lambda r: str(r.get("time", "")), reverse=True)
    rows.sort(key=lambda r: bool(r.get("liked")))
    return rows
