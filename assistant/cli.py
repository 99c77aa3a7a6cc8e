"""Command line: `assistant index | status | search | ask | cases | eval | feedback import | serve`. Errors are one clear line and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from assistant import __version__
from assistant.errors import AssistantError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class PlainProgress:
    """Index build progress for a log (stderr not a terminal): one line when a phase starts, then at
    most one per `step` of the phase (10 %) or every `seconds`, and one when it is done."""

    def __init__(self, write, step: float = 0.1, seconds: float = 10.0, clock=None) -> None:
        import time

        self.write, self.step, self.seconds = write, step, seconds
        self.clock = clock or time.monotonic
        self.phase: str | None = None
        self.started = self.last_time = 0.0
        self.last_fraction = 0.0
        self.finished = False

    def __call__(self, done: int, total: int, message: str) -> None:
        now = self.clock()
        if message != self.phase:
            self.phase, self.started, self.last_time, self.last_fraction, self.finished = message, now, now, 0.0, False
            self._line(done, total, now)
            return
        if self.finished:
            return
        fraction = done / total if total else 1.0
        if done >= total or fraction - self.last_fraction >= self.step or now - self.last_time >= self.seconds:
            self._line(done, total, now)

    def _line(self, done: int, total: int, now: float) -> None:
        from assistant.messages import phase_label

        label = phase_label(self.phase) if self.phase else "Working"
        text = f"{label}: {done:,}/{total:,}"
        if total:
            text += f" ({100 * done / total:.0f} %"
            elapsed = now - self.started
            if 0 < done < total and elapsed > 0:
                rate = done / elapsed
                text += f", {rate:,.1f}/s, about {(total - done) / rate:,.0f} s left"
            text += ")"
        self.write(text)
        self.last_time, self.last_fraction = now, (done / total if total else 1.0)
        self.finished = done >= total


def _rich_progress(err):
    """A rich progress display for a terminal: phase label, bar, done/total, rate, elapsed and remaining time."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.1f}/s" if task.speed else "", style="progress.data.speed")

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                    TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(), TextColumn("left"),
                    console=err, transient=True)


def cmd_index(args, settings) -> int:
    import contextlib

    from rich.markup import escape

    from assistant.messages import phase_label
    from assistant.pipeline import build_index

    err = _console(stderr=True)
    rich_bar = err.is_terminal or args.progress
    with (_rich_progress(err) if rich_bar else contextlib.nullcontext()) as bar:
        if bar is None:
            on_progress = PlainProgress(lambda line: err.print(line, markup=False, highlight=False))
        else:
            tasks: dict[str, int] = {}

            def on_progress(done: int, total: int, message: str) -> None:
                if message not in tasks:
                    for task in tasks.values():  # the previous phase is over
                        bar.update(task, visible=False)
                    tasks[message] = bar.add_task(phase_label(message), total=total or None)
                bar.update(tasks[message], completed=done, total=total or None)

        result = build_index(settings, rebuild=args.rebuild, progress=on_progress)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    counts = f"{result.counts()}, {result.chunks} chunks"
    if result.up_to_date:
        err.print(f"Index is up to date: {counts} (build {result.build_id}).")
    else:
        what = "Rebuilt" if args.rebuild else "Updated"
        parts = [f"{len(result.added)} added", f"{len(result.changed)} changed", f"{len(result.removed)} removed"]
        err.print(
            f"{what} index: {counts} "
            f"({', '.join(parts)}; {result.embedded} chunks and their {result.sentences} sentences embedded in {result.seconds:.1f} s, build {result.build_id})."
        )
    return 0


def cmd_status(args, settings) -> int:
    from rich.markup import escape

    from assistant.pipeline import index_status

    status = index_status(settings)
    if args.json:
        _print_json(status.to_dict())
        return 0
    out = _console()
    if not status.exists:
        out.print(f"No index at {status.location}. Run `assistant index` to build it.")
        return 0
    emb = status.embedder or {}
    out.print(f"Index:      {status.location} (build {status.build_id}, built {status.built_at})")
    out.print(f"Embedder:   {emb.get('backend')}:{emb.get('model')} {emb.get('version')} ({emb.get('dimension')} dims)")
    out.print(f"Chunking:   {status.chunking}")
    out.print(f"Documents:  {len(status.documents)} ({status.counts()})   Chunks: {status.chunks}")
    for doc in status.documents:
        out.print(f"  - {doc['doc_id']} [{doc['kind']}] {doc['title']} ({doc['chunks']} chunks)")
    for warning in status.warnings:
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if status.stale:
        out.print("[yellow]Stale:[/yellow] " + escape("; ".join(status.stale_reasons))
                  + (". Fix that, then run `assistant index`." if status.refused else ". Run `assistant index`."))
    else:
        out.print("Up to date with the corpus.")
    return 0


def _filters(args):
    from assistant.models import Filters

    try:
        return Filters(
            kind=getattr(args, "kind", None), doc_id=getattr(args, "doc", None), sector=args.sector,
            size_class=args.size, theme=args.theme,
        )
    except ValueError as e:
        raise AssistantError(str(e).replace("size_class", "--size").replace("doc_id", "--doc")) from e


def cmd_search(args, settings) -> int:
    from assistant.pipeline import search

    query = " ".join(args.query).strip()
    if not query:
        raise AssistantError("The search query is empty; give some words to search for.")
    if args.k <= 0:
        raise AssistantError(f"--k must be greater than 0. Currently it is {args.k}.")
    hits = search(settings, query, k=args.k, filters=_filters(args))
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    out = _console()
    for rank, hit in enumerate(hits, 1):
        section = f" › {hit.section}" if hit.section else ""
        out.print(f"[bold]{rank}. {hit.title}{section}[/bold]  [dim]({hit.kind}, score {hit.score:.3f}, {hit.chunk_id})[/dim]")
        text = " ".join(hit.text.split())
        out.print("   " + (text[:300] + "…" if len(text) > 300 else text), markup=False)
    if not hits:
        out.print("No passages found.")
    return 0


def cmd_cases(args, settings) -> int:
    from assistant.pipeline import list_cases

    cases = list_cases(settings, _filters(args))
    if args.json:
        _print_json(cases)
        return 0
    out = _console()
    for case in cases:
        size = case["size_class"] + (f", {case['employees']} medewerkers" if case.get("employees") else "")
        out.print(f"[bold]{case['organisation']}[/bold] ({case['sector']}; {size}; {case.get('region') or case.get('country') or '-'})", markup=True)
        out.print(f"   {case['title']}", markup=False)
        out.print(f"   themes: {', '.join(case['themes'])}", markup=False)
        src = case["source"]
        out.print(f"   source: {src['title']} › {src['section']}" if src else "   source: [unresolved]", markup=False)
    out.print(f"{len(cases)} case(s).")
    return 0


def cmd_eval(args, settings) -> int:
    from rich.markup import escape
    from rich.progress import Progress

    from assistant.pipeline import evaluate

    err = _console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("Evaluating", total=None)
        report, results = evaluate(
            settings, args.gold, k=args.k, mode=args.mode, answers=not args.no_answers,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if args.json:
        _print_json({"metrics": report, "results": [r.to_dict() for r in results]})
        return 0
    out = _console()
    for r in results:
        if r.expect_refusal:
                mark = "out of scope" + ("" if r.refused in (None, True) else ", ANSWERED")
        else:
            mark = f"rank {r.rank}" if r.rank else f"miss (not in top {max(args.k, 10)})"
            if r.refused:
                mark += ", REFUSED"
            elif r.answer_evidence is False:
                mark += ", evidence not shown" if r.citations_hold_evidence else ", cites no evidence"
        out.print(f"{r.id:>6}  {mark:<34} {r.latency_ms:6.0f} ms  {escape(r.question)}")
    k = report["k"]
    if report["by_type"]:
        out.print("\nby type (in-scope questions):")
        for name, m in report["by_type"].items():
            shown = f"  answer_evidence {m['answer_evidence']:.2f}" if "answer_evidence" in m else ""
            out.print(f"  {name:<16} n={m['in_scope']:<3} hit@1 {m['hit@1']:.2f}  hit@{k} {m[f'hit@{k}']:.2f}  "
                      f"MRR@10 {m['mrr@10']:.2f}{shown}")
    out.print(
        f"\n{report['in_scope']} in-scope questions ({report['out_of_scope']} out of scope), mode {report['mode']}, "
        f"build {report['build_id']}:\n"
        f"  hit@1 {report['hit@1']:.3f}   hit@{k} {report[f'hit@{k}']:.3f}   MRR@10 {report['mrr@10']:.3f}\n"
        f"  retrieval latency p50 {report['latency_p50_ms']} ms, p95 {report['latency_p95_ms']} ms"
    )
    if "answers" in report:
        a = report["answers"]
        out.print(
            f"answers: refusal accuracy {a['refusal_accuracy']}, in-scope refused {a['in_scope_refused']}, "
            f"out-of-scope refused {a['out_of_scope_refused']}, citation precision {a['citation_precision']}\n"
            f"  answer_evidence {a['answer_evidence']} (the shown answer holds the evidence), shown characters "
            f"median {a['shown_chars_median']}, p90 {a['shown_chars_p90']} (quoted corpus text median "
            f"{a.get('quoted_chars_median')})\n"
            f"  answer latency p50 {a['answer_p50_ms']} ms, p95 {a['answer_p95_ms']} ms"
        )
    return 0


def cmd_ask(args, settings) -> int:
    from assistant.pipeline import Assistant

    question = " ".join(args.question)
    out = _console()
    streamed: list[str] = []

    def on_token(token: str) -> None:  # generated answers stream to the terminal
        if not args.json:
            streamed.append(token)
            out.print(token, end="", markup=False, highlight=False)

    answer = Assistant(settings).ask(question, history=args.history or [], filters=_filters(args), on_token=on_token)
    if args.json:
        _print_json(answer.to_dict())
        return 0
    if streamed:
        out.print("\n")
    for notice in answer.notices:
        out.print(f"note: {notice}", markup=False)
    if not streamed or answer.mode != "generative":
        out.print(answer.text, markup=False)
    if answer.citations:
        out.print("")
    for c in answer.citations:
        where = f"{c.title} › {c.section}" if c.section else c.title
        out.print(f"[{c.n}] {where} ({c.chunk_id})", markup=False)
    return 0


def cmd_feedback_import(args, settings) -> int:
    from assistant.feedback import open_feedback

    # The explicit import only: the automatic one of ASSISTANT_FEEDBACK_PATH would blur what this file added.
    with open_feedback(settings, import_legacy=False) as store:
        result = store.import_jsonl(args.file)
        location = store.location
    if args.json:
        _print_json({**result.to_dict(), "database": location})
        return 0
    out = _console()
    out.print(f"Imported {result.imported} feedback row(s) from {args.file} into {location} "
              f"({result.duplicates} already there).", markup=False)
    if result.skipped:
        out.print(f"Skipped {len(result.skipped)} line(s):", markup=False)
        for skipped in result.skipped:
            out.print(f"  {skipped}", markup=False)
    return 0


def _add_filter_options(p, kinds: bool) -> None:
    from assistant.models import DOCUMENT_KINDS, SECTORS, SIZE_CLASSES

    if kinds:
        p.add_argument("--kind", help=f"document kind: {', '.join(DOCUMENT_KINDS)}")
        p.add_argument("--doc", help="only passages of this document id")
    p.add_argument("--sector", help=f"case sector: {', '.join(SECTORS)}")
    p.add_argument("--size", help=f"case size class: {', '.join(SIZE_CLASSES)}")
    p.add_argument("--theme", help="case theme, e.g. 'zelfsturende teams' (see `assistant cases --help`)")


def cmd_serve(args, settings) -> int:
    from assistant.pipeline import index_status
    from assistant.ui import serve

    err = _console(stderr=True)
    status = index_status(settings)
    if not status.exists:
        err.print(f"No index at {status.location} yet; building it from {settings.corpus_dir} (first start only).")
        cmd_index(argparse.Namespace(rebuild=False, progress=False), settings)
    elif not status.compatible:
        err.print(f"The index at {status.location} was built with another embedder, chunking or version of this "
                  "program; rebuilding it from the corpus (a few minutes, once).")
        cmd_index(argparse.Namespace(rebuild=True, progress=False), settings)
    elif status.stale:
        err.print("[yellow]note:[/yellow] the index is stale (" + "; ".join(status.stale_reasons) + "); run `assistant index` to update it.")
    host, port = args.host or settings.host, args.port or settings.port
    err.print(f"Starting the app on http://{host}:{port}")
    serve(settings, host=host, port=port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Wegwijzer Sociale Innovatie: cited answers on sociale innovatie for Dutch SMEs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("index", help="build or update the index from corpus/ (incremental by default)")
    p.add_argument("--rebuild", action="store_true", help="build a fresh index beside the live one and swap it in")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when not on a terminal (else: a progress line per phase "
                        "every 10 %% or 10 s)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("status", help="show what is in the index and whether it is stale")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("search", help="search the index (hybrid: dense + BM25)")
    p.add_argument("query", nargs="+", help="the search text")
    p.add_argument("--k", type=int, default=5, help="number of passages (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_filter_options(p, kinds=True)
    p.set_defaults(func=cmd_search)

    from assistant.models import THEMES

    p = sub.add_parser("cases", help="list the practice cases with their metadata",
                       epilog="themes: " + "; ".join(THEMES))
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_filter_options(p, kinds=False)
    p.set_defaults(func=cmd_cases)

    from assistant.retrieve import MODES

    p = sub.add_parser("eval", help="score retrieval on a gold file (hit@1, hit@k, MRR@10, latency)")
    from assistant.config import PACKAGE_ROOT

    p.add_argument("gold", type=Path, nargs="?", default=PACKAGE_ROOT / "eval" / "gold.jsonl",
                   help="JSON Lines gold file (default: the repository's eval/gold.jsonl)")
    p.add_argument("--k", type=int, default=5, help="cut-off for hit@k (default 5)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="retrieval to score (default hybrid)")
    p.add_argument("--json", action="store_true", help="print one JSON object with `metrics` and `results`")
    p.add_argument("--no-answers", action="store_true", help="score retrieval only (skip refusals and citations)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("ask", help="answer a question with cited passages (extractive unless ASSISTANT_LLM is set)")
    p.add_argument("question", nargs="+", help="the question")
    p.add_argument("--history", action="append", metavar="Q", help="an earlier question of the conversation (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON: answer, citations, cases, refused, mode, timings")
    _add_filter_options(p, kinds=True)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("feedback", help="manage the feedback database (likes and dislikes of answers)")
    feedback_sub = p.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    p = feedback_sub.add_parser(
        "import", help="import a JSON Lines feedback log (the old feedback.jsonl); bad lines are skipped and listed",
        description="Import a JSON Lines feedback log into the feedback database (ASSISTANT_DATABASE_URL, else "
        "ASSISTANT_FEEDBACK_DB_PATH). Rows already in the database are not added twice.")
    p.add_argument("file", type=Path, help="the JSON Lines file, e.g. feedback/feedback.jsonl")
    p.add_argument("--json", action="store_true", help="print JSON: imported, duplicates, skipped lines, database")
    p.set_defaults(func=cmd_feedback_import)

    p = sub.add_parser("serve", help="start the chat app (builds the index first if there is none)")
    p.add_argument("--host", help="address to listen on (default: ASSISTANT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: ASSISTANT_PORT or 7860)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from assistant.config import load_settings

        return args.func(args, load_settings())
    except AssistantError as e:
        if args.verbose:
            raise
        from rich.markup import escape

        _console(stderr=True).print(f"[red]error:[/red] {escape(str(e))}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _console(stderr=True).print("interrupted; the live index is unchanged.")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
