#!/usr/bin/env python3
"""A deterministic OpenAI-compatible chat endpoint for exercising `bae features --judge-url` offline.

POST /v1/chat/completions answers:
  - the describe prompt ("What do the marked tokens have in common?") with the phrase
    `the token "T"`, where T is the most common [[marked]] token of the prompt (ties: first seen);
  - a test prompt ("Feature description: ... Sample: ... [[X]] ...") with "Yes" when X equals the
    T of the description, else "No".
So the score of a feature is the fraction of its test samples whose token is the most common token of
its describe samples: a real number, but no language model. Standard library only.

  python3 scripts/judge_stub.py [--port 0] [--fail-first N] [--delay S]
Prints `listening http://127.0.0.1:PORT` on stdout (PORT is chosen by the OS with --port 0), then serves
until killed. --fail-first N answers the first N requests with HTTP 500 (to see retries);
--delay S sleeps S seconds before every answer (to see timeouts).
"""

import argparse
import collections
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARK = re.compile(r"\[\[(.*?)\]\]", re.S)
PHRASE = re.compile(r'Feature description: the token "(.*)"')
SAMPLE_LINE = re.compile(r"^(?:\d+\.|Sample:) ")  # the numbered describe samples / the test sample


def answer(messages):
    user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    # marked tokens of the sample lines only (the instructions show the marking "[[like this]]" too)
    marked = [t for line in user.split("\n") if SAMPLE_LINE.match(line) for t in MARK.findall(line)]
    if "have in common" in user:
        if not marked:
            return "nothing in common"
        counts = collections.Counter(marked)
        top = max(counts.values())
        token = next(t for t in marked if counts[t] == top)
        return f'the token "{token}"'
    m = PHRASE.search(user)
    return "Yes" if m and marked and marked[-1] == m.group(1) else "No"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    served = 0
    fail_first = 0
    delay = 0.0

    def log_message(self, *args):  # quiet: the caller prints what matters
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        with Handler.lock:
            index = Handler.served
            Handler.served += 1
        if Handler.delay:
            time.sleep(Handler.delay)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self.reply(404, {"error": f"no route {self.path}"})
        if index < Handler.fail_first:
            return self.reply(500, {"error": "scripted failure"})
        try:
            req = json.loads(raw)
            text = answer(req["messages"])
        except (ValueError, KeyError, TypeError) as e:
            return self.reply(400, {"error": f"bad request: {e}"})
        self.reply(
            200,
            {
                "id": f"stub-{index}",
                "object": "chat.completion",
                "model": req.get("model", "stub"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            },
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    a = ap.parse_args()
    Handler.fail_first, Handler.delay = a.fail_first, a.delay
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
