"""Load test: concurrent conversations against a running app, through its real API (gradio_client).

Not part of the test run. Start the app first (`assistant serve`), then:
    python benchmarks/load.py [--url http://127.0.0.1:7860/] [--users 20] [--questions 10] [--max-seconds 900]
Loopback only. Every conversation asks its questions in order and sends the chat history back, so
follow-ups ("Hoeveel mensen werken daar?") are real follow-ups. Reports errors, answers that are
neither cited nor refused, and latency percentiles; exits 1 on any error or uncited answer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from urllib.parse import urlparse

from assistant.answer import CANNOT_ANSWER

CONVERSATIONS = [
    ["Waar moet ik beginnen?", "subsidie?", "Welke regelingen zijn er voor het mkb?",
     "Voorbeelden van zelfsturende teams in de bouw", "Wat deed Aldowa?", "Hoeveel mensen werken daar?",
     "Wat is de hoofdstad van Frankrijk?", "Is there funding for SMEs?", "coachend leiderschap",
     "Hoe krijg ik mijn mensen mee bij nieuwe machines?"],
    ["Wat is sociale innovatie eigenlijk?", "Tell me about Kinkelder.", "How many people work there?",
     "Wat stelt de SER voor aan het kabinet?", "En wat moet het platform doen?", "zelfroosteren",
     "Heb je een recept voor erwtensoep?", "Welke landen zijn goed in sociale innovatie?", "En Finland?",
     "Wat is de rol van de ondernemingsraad?"],
]


def _text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def conversation(url: str, questions: list[str], results: list, deadline: float) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    history: list = []
    for q in questions:
        if time.monotonic() > deadline:
            results.append({"error": "time limit", "question": q})
            return
        started = time.perf_counter()
        try:
            history, sources, _, _ = client.predict(q, history, api_name="/chat")
            answer = _text(history[-1])
            refused = any(answer.startswith(s) or s in answer for s in CANNOT_ANSWER.values())
            cited = "[1]" in answer and "ww-card" in sources
            results.append({"question": q, "seconds": time.perf_counter() - started, "refused": refused,
                            "cited": cited})
        except Exception as e:  # every failure is counted, none stops the run
            results.append({"question": q, "error": f"{type(e).__name__}: {e}", "seconds": time.perf_counter() - started})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()
    if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load test only runs against a loopback address")
    results: list[dict] = []
    deadline = time.monotonic() + args.max_seconds
    threads = [threading.Thread(target=conversation,
                                args=(args.url, CONVERSATIONS[i % len(CONVERSATIONS)][: args.questions], results, deadline))
               for i in range(args.users)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    errors = [r for r in results if "error" in r]
    ok = [r for r in results if "error" not in r]
    uncited = [r for r in ok if not (r["refused"] or r["cited"])]
    times = sorted(r["seconds"] for r in ok)
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else times * 99
    print(f"{args.users} conversations x {args.questions} questions = {len(results)} requests in {wall:.1f} s "
          f"({len(results) / wall:.1f} req/s)")
    print(f"errors: {len(errors)}; answers neither cited nor refused: {len(uncited)}; refused: "
          f"{sum(r['refused'] for r in ok)}")
    if times:
        print(f"latency: p50 {q[49]:.2f} s, p95 {q[94]:.2f} s, max {times[-1]:.2f} s")
    for r in (errors + uncited)[:10]:
        print("  ", r)
    return 1 if errors or uncited else 0


if __name__ == "__main__":
    sys.exit(main())
