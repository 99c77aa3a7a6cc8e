"""The command line, in process (fast) and as a real subprocess (exit codes, no tracebacks)."""

import json
import os
import subprocess
import sys

import pytest

from assistant.cli import main
from tests.conftest import GOOD_SOURCES, REPO


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    return settings


def test_index_status_search_round_trip(cli_env, capsys):
    assert main(["index"]) == 0
    err = capsys.readouterr().err
    assert "5 added" in err and "empty.md" in err and "rooster.xlsx" in err
    assert "Updated index: 3 documents, 2 practice cases, " in err

    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {d["source"] for d in status["documents"]} == GOOD_SOURCES and status["stale"] is False
    assert (status["document_count"], status["case_count"], status["refused"]) == (3, 2, False)

    assert main(["search", "Hoeveel", "subsidie", "voor", "een", "traject?", "--k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    assert set(hits[0]) == {"chunk_id", "doc_id", "title", "kind", "section", "text", "score", "start", "end"}
    assert hits[0]["doc_id"] == "subsidie-regeling"

    assert main(["search", "verzuim"]) == 0
    assert "Zelfsturende teams in de bakkerij" in capsys.readouterr().out

    assert main(["index"]) == 0
    assert "Index is up to date: 3 documents, 2 practice cases, " in capsys.readouterr().err
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Documents:  5 (3 documents, 2 practice cases)" in out and "Up to date" in out and "warning:" in out


def test_rebuild_flag(cli_env, capsys):
    assert main(["index"]) == 0
    first = json.loads((main(["status", "--json"]), capsys.readouterr().out)[1])["build_id"]
    assert main(["index", "--rebuild"]) == 0
    assert "Rebuilt index" in capsys.readouterr().err
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["build_id"] != first


@pytest.mark.parametrize(
    "argv,env,message",
    [
        (["search", "teams"], {}, "No index yet"),
        (["search", "teams", "--k", "0"], {}, "--k must be greater than 0"),
        (["index"], {"ASSISTANT_EMBEDDER": "word2vec"}, "embedder must be"),
        (["index"], {"ASSISTANT_CORPUS_DIR": "/nergens/corpus"}, "does not exist"),
    ],
)
def test_user_errors_are_one_line_without_traceback(cli_env, argv, env, message):
    full_env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(cli_env.corpus_dir),
                "ASSISTANT_INDEX_DIR": str(cli_env.index_dir), "COLUMNS": "400", **env}
    proc = subprocess.run([sys.executable, "-m", "assistant", *argv], env=full_env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], proc.stderr


def test_status_without_index(cli_env, capsys):
    assert main(["status"]) == 0
    assert "No index" in capsys.readouterr().out


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "index" in proc.stdout and "search" in proc.stdout


def test_eval_reports_metrics_and_results(cli_env, capsys, tmp_path):
    assert main(["index"]) == 0
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "a", "question": "Hoeveel subsidie krijgt een bedrijf per traject?", "evidence": ["ten hoogste 10.000 euro"]},
        {"id": "b", "question": "Hoeveel daalde het verzuim daar?", "history": ["Vertel over De Korenschoof"],
         "evidence": ["van 8 procent naar 4 procent"]},
        {"id": "c", "question": "Wat is de hoofdstad van Frankrijk?", "evidence": [], "expect_refusal": True},
    ]) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["eval", str(gold), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"metrics", "results"}
    m = report["metrics"]
    assert (m["questions"], m["in_scope"], m["out_of_scope"], m["hit@5"]) == (3, 2, 1, 1.0)
    assert m["latency_p50_ms"] > 0 and m["mode"] == "hybrid"
    by_id = {r["id"]: r for r in report["results"]}
    assert by_id["a"]["rank"] == 1 and by_id["c"]["rank"] is None and len(by_id["a"]["top_ids"]) == 5
    assert "Korenschoof" in by_id["b"]["search_query"]

    assert main(["eval", str(gold), "--mode", "lexical", "--k", "1"]) == 0
    assert "hit@1" in capsys.readouterr().out

    gold.write_text('{"question": "q", "evidence": "not a list"}\n', encoding="utf-8")
    assert main(["eval", str(gold)]) == 1
    assert "gold.jsonl:1" in capsys.readouterr().err


def test_ask_prints_a_cited_answer_and_json(cli_env, capsys):
    assert main(["index"]) == 0
    capsys.readouterr()
    assert main(["ask", "Hoeveel", "subsidie", "krijgt", "een", "bedrijf", "per", "traject?"]) == 0
    out = capsys.readouterr().out
    assert "ten hoogste 10.000 euro" in out and "[1] Stimuleringsregeling voor het mkb ›" in out

    assert main(["ask", "Hoeveel procent daalde het verzuim daar?", "--history", "Vertel over De Korenschoof", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"answer", "citations", "cases", "refused", "mode", "timings"}
    assert data["mode"] == "extractive" and not data["refused"] and "Korenschoof" in data["search_query"]
    assert data["citations"][0]["spans"] and data["timings"]["total_ms"] > 0

    assert main(["ask", "Wat is de hoofdstad van Frankrijk?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["refused"] is True
