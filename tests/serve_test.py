#!/usr/bin/env python3
"""`unmask serve` end to end over loopback, with the clients users use: the
official `openai` Python package (pinned in scripts/setup.sh) and curl.

Trains a tiny MDLM on the fortunes fixture, starts servers on free ports and
checks: completions, n > 1, seeds, streaming and step frames, the texts equal
`unmask sample` with the same seed, 16 concurrent requests equal the same
requests one at a time, continuous batching (batches > 1, fewer network calls
than the requests made), errors as the client's own exception types, bad
input (malformed JSON, wrong types, unknown fields, huge numbers, a 10 MB
body, a slowloris client, a client killed mid-stream or gone mid-request),
429 with Retry-After, 401 without the key, RSS stable over 500 requests,
and, on servers of their own (serve_lifecycle.py), --pad-lengths, clients
leaving the queue, SIGTERM with requests in flight (they finish, exit 0),
the drain timeout, bad flags and a port already serving. Every server is
stopped by the test itself; every wait is bounded. The shared pieces are in
serve_harness.py.

Usage: serve_test.py UNMASK_BINARY FIXTURE_DATA_DIR
"""
import concurrent.futures
import http.client
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import openai

from serve_harness import (ALONE, MIXED, OTHER_LENGTHS, SAME_LENGTH, Server, beside_anchor, check, cli_sample,
                           concurrent_texts, failures, one_at_a_time, train)
import serve_lifecycle as lifecycle


def basics(s, run, tmp):
    c = s.client()
    models = c.models.list()
    check([m.id for m in models.data] == [s.model], "GET /v1/models lists the served model")
    r = c.completions.create(model=s.model, prompt="The cat", max_tokens=12, seed=5, n=3, extra_body={"steps": 16})
    check(len(r.choices) == 3 and [ch.index for ch in r.choices] == [0, 1, 2], "n = 3 gives three choices in order")
    check(all(ch.finish_reason in ("stop", "length") for ch in r.choices), "finish reasons are stop or length")
    check(r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0, "usage counts prompt and completion tokens")
    again = c.completions.create(model=s.model, prompt="The cat", max_tokens=12, seed=5, n=3, extra_body={"steps": 16})
    check([ch.text for ch in again.choices] == [ch.text for ch in r.choices], "the same seed gives the same texts")
    other = c.completions.create(model=s.model, prompt="The cat", max_tokens=12, seed=6, n=3, extra_body={"steps": 16})
    check([ch.text for ch in other.choices] != [ch.text for ch in r.choices], "another seed gives other texts")
    # The same request through `unmask sample`: choice k is sample k of the same seed.
    length = 1 + r.usage.prompt_tokens + 12
    rows = cli_sample(run, "The cat", 3, 5, length, 16, tmp)
    prompt_text = "The cat"
    cli_texts = [row["text"][len(prompt_text):] if row["text"].startswith(prompt_text) else row["text"] for row in rows]
    check([ch.text for ch in r.choices] == cli_texts,
          f"the texts equal `unmask sample --seed 5 --num 3 --length {length}` ({cli_texts} vs {[ch.text for ch in r.choices]})")
    # Streaming through the client: the same text, finish reasons at the end.
    stream = c.completions.create(model=s.model, prompt="The cat", max_tokens=12, seed=5, n=3, stream=True,
                                  stream_options={"include_usage": True}, extra_body={"steps": 16})
    texts, reasons, usage = {}, {}, None
    for chunk in stream:
        for ch in chunk.choices:
            texts[ch.index] = texts.get(ch.index, "") + ch.text
            if ch.finish_reason:
                reasons[ch.index] = ch.finish_reason
        if chunk.usage:
            usage = chunk.usage
    check([texts[i] for i in range(3)] == [ch.text for ch in r.choices], "streamed texts equal the non-streamed ones")
    check(len(reasons) == 3 and usage is not None and usage.completion_tokens == r.usage.completion_tokens,
          "the stream ends each choice with a finish reason, then the usage chunk")
    # Several prompts: one choice per prompt and n, prompt-major.
    multi = c.completions.create(model=s.model, prompt=["A", "The dog"], max_tokens=6, n=2, seed=1)
    check(len(multi.choices) == 4, "two prompts × n = 2 give four choices")
    # Infilling a template.
    fill = c.completions.create(model=s.model, prompt="The [MASK:3] is", max_tokens=0,
                                extra_body={"infill": True}, seed=2)
    check(fill.choices[0].text.startswith("The") and "[MASK" not in fill.choices[0].text,
          "infill fills the [MASK:n] span and keeps the template's text")
    # stop sequences cut the text.
    base = c.completions.create(model=s.model, prompt="", max_tokens=20, seed=9).choices[0].text
    if len(base.strip()) >= 2:
        stop = base.strip()[1]
        cut = c.completions.create(model=s.model, prompt="", max_tokens=20, seed=9, stop=[stop]).choices[0]
        check(cut.text == base[:base.find(stop)] and cut.finish_reason == "stop", "a stop sequence cuts the text")
    # Other samplers, batched and not.
    for extra in ({"sampler": "confidence", "unmask": "threshold", "threshold": 0.5},
                  {"sampler": "semi_ar", "block_size": 4, "cache": "dual"}, {"sampler": "first_hitting"}):
        out = c.completions.create(model=s.model, prompt="A", max_tokens=8, seed=1, extra_body=extra)
        check(len(out.choices) == 1 and out.model_extra["unmask"]["sampler"] == extra["sampler"],
              f"sampler {extra} answers")


def raw_sse(s):
    """curl: the SSE framing of a stream with step frames."""
    body = json.dumps({"model": s.model, "prompt": "The", "max_tokens": 6, "seed": 1, "stream": True,
                       "stream_steps": True, "steps": 6})
    out = subprocess.run(["curl", "-sS", "-N", "--max-time", "60", "-H", "Content-Type: application/json",
                          "-H", f"Authorization: Bearer {s.key}", "-d", body, s.url + "/v1/completions"],
                         capture_output=True, text=True, timeout=90).stdout
    events = [e for e in out.split("\n\n") if e.strip()]
    data = [e[len("data: "):] for e in events if e.startswith("data: ")]
    check(data and data[-1] == "[DONE]", "the stream ends with data: [DONE]")
    frames = [json.loads(d) for d in data[:-1]]
    steps = [f["unmask_step"] for f in frames if "unmask_step" in f]
    check(len(steps) >= 1 and all(f["choices"] == [] for f in frames if "unmask_step" in f),
          "stream_steps sends step frames as chunks with no choices")
    check(all("[MASK]" in st["text"] for st in steps[:-1]) and steps[-1]["masked"] == 0,
          "step frames show the canvas with [MASK] until the last")
    texts = [f["choices"][0]["text"] for f in frames if f.get("choices")]
    check(len(texts) >= 1 and all(set(f) >= {"id", "object", "created", "model", "choices"} for f in frames),
          "every chunk has OpenAI's fields")


def errors(s):
    c = s.client()
    cases = [
        (dict(max_tokens=100000), openai.BadRequestError, "max_tokens"),
        (dict(max_tokens=-1), openai.BadRequestError, "max_tokens"),
        (dict(max_tokens=4, temperature="hot"), openai.BadRequestError, "temperature"),
        (dict(max_tokens=4, extra_body={"colour": "blue"}), openai.BadRequestError, "colour"),
        (dict(max_tokens=4, n=10 ** 6), openai.BadRequestError, "n"),
        (dict(max_tokens=4, top_p=0), openai.BadRequestError, "top_p"),
        (dict(max_tokens=4, extra_body={"sampler": "nope"}), openai.BadRequestError, "nope"),
        (dict(max_tokens=4, logprobs=2), openai.BadRequestError, "logprobs"),
    ]
    for kwargs, error, word in cases:
        try:
            c.completions.create(model=s.model, prompt="x", **kwargs)
            check(False, f"{kwargs} is refused")
        except error as e:
            check(word in str(e) and e.status_code == 400, f"{kwargs} → {error.__name__} naming '{word}'")
    try:
        c.completions.create(model="other-model", prompt="x", max_tokens=2)
        check(False, "an unknown model is refused")
    except openai.NotFoundError as e:
        check(e.code == "model_not_found", "an unknown model → NotFoundError model_not_found")
    try:
        openai.OpenAI(base_url=s.url + "/v1", api_key="wrong", max_retries=0).models.list()
        check(False, "a wrong key is refused")
    except openai.AuthenticationError:
        check(True, "a wrong key → AuthenticationError (401)")
    status, _, _ = s.raw("GET", "/metrics", headers={"Authorization": ""})
    check(status == 401, "/metrics without the key → 401")
    status, _, body = s.raw("GET", "/health", headers={"Authorization": ""})
    check(status == 200 and json.loads(body)["status"] == "ok", "/health needs no key")
    for body, what in ((b"{not json", "malformed JSON"), (b"[1, 2]", "a JSON array"), (b"\xff\xfe", "invalid UTF-8"),
                       (b'{"prompt": "x", "max_tokens": 1e400}', "a huge number"),
                       (b"[" * 100000, "deep nesting")):
        status, _, data = s.raw("POST", "/v1/completions", body=body, headers={"Content-Type": "application/json"})
        err = json.loads(data).get("error", {}) if data.startswith(b"{") else {}
        check(status == 400 and err.get("message"), f"{what} → 400 with an error object")
    status, _, data = s.raw("GET", "/v2/nothing")
    check(status == 404 and b"valid:" in data, "an unknown route → 404 naming the valid ones")
    big = b'{"prompt": "' + b"a" * (10 << 20) + b'"}'
    try:
        status, _, data = s.raw("POST", "/v1/completions", body=big, headers={"Content-Type": "application/json"})
        check(status == 413, f"a 10 MB body → 413 (got {status})")
    except (ConnectionError, http.client.HTTPException, OSError):
        check(True, "a 10 MB body → the connection is closed")
    check(c.completions.create(model=s.model, prompt="x", max_tokens=2).choices, "the server still serves after errors")


def slow_clients(s):
    # Slowloris: headers trickled; the server closes it after --read-timeout while others are served.
    slow = socket.create_connection((s.host, s.port), timeout=30)
    slow.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    served = s.client().completions.create(model=s.model, prompt="x", max_tokens=2)
    check(served.choices and time.monotonic() - t0 < 10, "others are served while a client trickles its headers")
    closed = False
    try:
        for _ in range(20):
            slow.sendall(b"X-Slow: 1\r\n")
            time.sleep(0.5)
            slow.settimeout(0.01)
            try:
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            slow.settimeout(30)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    slow.close()
    check(closed, "the trickling client is closed after the read timeout")
    # A client killed mid-stream: its rows stop, the server goes on.
    before = s.metrics()
    k = s.open_request({"model": s.model, "prompt": "A", "max_tokens": 40, "steps": 4000, "stream": True,
                        "sampler": "ancestral"})
    k.recv(100)  # the headers have come: it is running
    time.sleep(0.3)
    k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    k.close()
    check(s.wait_for("unmask_requests_running", 0), "a client gone mid-stream cancels its rows")
    check(s.client().completions.create(model=s.model, prompt="x", max_tokens=2).choices,
          "the server serves after a client was killed mid-stream")
    # A non-streaming client that closes its connection while its request runs
    # (a plain close: end-of-stream, no reset): the request stops too.
    k = s.open_request({"model": s.model, "prompt": "A", "max_tokens": 40, "steps": 100000, "sampler": "ancestral"})
    running = s.wait_for("unmask_requests_running", 1)
    k.close()
    t0 = time.monotonic()
    stopped = s.wait_for("unmask_requests_running", 0)
    waited = time.monotonic() - t0
    after = s.metrics()
    check(running and stopped and waited < 5,
          f"a non-streaming client gone mid-request cancels it (stopped {waited:.2f} s after the close)")
    check(after["unmask_requests_abandoned_total"] - before["unmask_requests_abandoned_total"] == 2
          and after.get('unmask_requests_total{path="/v1/completions",code="499"}', 0) >= 1,
          "both departures are counted (unmask_requests_abandoned_total, code 499)")


def concurrency(s):
    alone = one_at_a_time(s, MIXED)
    together, delta, _ = concurrent_texts(s)
    check(together == alone, "16 concurrent requests give exactly the texts they give one at a time")
    batches, calls = delta["unmask_network_calls_total"], delta["unmask_request_network_calls_total"]
    print(f"info: staggered, {batches:.0f} batched forwards served {calls:.0f} requests' calls", flush=True)
    check(delta["unmask_padding_positions_total"] == 0, "without --pad-lengths nothing is padded")
    shared, texts = beside_anchor(s, SAME_LENGTH)
    check(shared > 0, f"requests of one length share forwards with a running one ({shared:.0f} calls rode along)")
    check(texts == one_at_a_time(s, SAME_LENGTH), "and give exactly the texts they give one at a time")
    rows = s.metrics()["unmask_batch_rows_max"]
    check(rows > 1, f"batches grew beyond one row (largest {rows:.0f})")
    shared, texts = beside_anchor(s, OTHER_LENGTHS)
    check(shared == 0, f"without --pad-lengths other lengths share none ({shared:.0f})")
    ALONE.update(texts=alone, batches=batches, other_lengths=texts)


def memory(s):
    c = s.client()
    def one(i):
        return c.completions.create(model=s.model, prompt="x", max_tokens=4, seed=i, extra_body={"steps": 4})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(100)))  # warm-up
        start = s.rss_kb()
        list(pool.map(one, range(500)))
    grown = s.rss_kb() - start
    if "ASAN_OPTIONS" in os.environ:
        # Under AddressSanitizer (.ci/sanitize) RSS measures its allocator: freed blocks wait in a 256 MB
        # quarantine and are never returned, so RSS climbs for a thousand requests and more. LeakSanitizer
        # stands in: it runs when each server exits, and a leak makes the exit code checked below non-zero.
        print(f"info: under AddressSanitizer RSS grew {grown} kB; LeakSanitizer checks the exit", flush=True)
        return
    check(grown < 20 * 1024, f"RSS stable over 500 requests (grew {grown} kB)")


def main():
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        run = train(tmp)
        s = Server(run, tmp, "--max-batch", "16", "--max-queue", "32", "--read-timeout", "2", key="test-key-123")
        try:
            for part in (basics, raw_sse, errors, concurrency, slow_clients, memory, lifecycle.port_in_use):
                print(f"--- {part.__name__}", flush=True)
                part(*((s, run, tmp) if part is basics else (s, run) if part is lifecycle.port_in_use else (s,)))
            check(s.proc.poll() is None, "the server is still running")
            logs = s.logs()
            check("test-key-123" not in logs, "the key never appears in the log")
            check(s.stop() == 0, "SIGTERM on an idle server → exit 0")
        finally:
            if s.proc.poll() is None:
                print(s.logs())
            s.stop()
        print("--- bad_flags", flush=True)
        lifecycle.bad_flags(run, tmp)
        print("--- queue_full", flush=True)
        lifecycle.queue_full(run, tmp)
        print("--- pad_lengths", flush=True)
        lifecycle.pad_lengths(run, tmp)
        print("--- queue_departures", flush=True)
        lifecycle.queue_departures(run, tmp)
        print("--- drain_timeout", flush=True)
        lifecycle.drain_timeout(run, tmp)
    if failures:
        print(f"FAILED: {len(failures)} checks:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("PASS: unmask serve with the openai client and curl")


if __name__ == "__main__":
    main()
