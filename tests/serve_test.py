#!/usr/bin/env python3
"""`unmask serve` end to end over loopback, with the clients users use: the
official `openai` Python package (pinned in scripts/setup.sh) and curl.

Trains a tiny MDLM on the fortunes fixture, starts servers on free ports and
checks: completions, n > 1, seeds, streaming and step frames, the texts equal
`unmask sample` with the same seed, 16 concurrent requests equal the same
requests one at a time, continuous batching (batches > 1, fewer network calls
than the requests made), errors as the client's own exception types, bad
input (malformed JSON, wrong types, unknown fields, huge numbers, a 10 MB
body, a slowloris client, a client killed mid-stream), 429 with Retry-After,
401 without the key, RSS stable over 500 requests, SIGTERM with requests in
flight (they finish, exit 0). Every server is stopped by the test itself;
every wait is bounded.

Usage: serve_test.py UNMASK_BINARY FIXTURE_DATA_DIR
"""
import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import openai

UNMASK = sys.argv[1]
DATA = sys.argv[2]
TIMEOUT = 60
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    else:
        print("ok:", what, flush=True)


def train(tmp):
    config = tmp / "tiny.json"
    config.write_text(json.dumps({
        "seed": 3,
        "model": {"backbone": "dit", "hidden": 32, "layers": 1, "heads": 2, "cond_dim": 16, "dropout": 0.0,
                  "max_length": 48},
        "diffusion": {"objective": "mdlm"},
        "data": {"path": DATA, "mode": "pad", "length": 48},
        "train": {"batch_size": 8, "max_steps": 30, "lr": 0.003, "warmup_steps": 2, "log_every": 10,
                  "eval_every": 30, "val_batches": 1, "checkpoint_every": 30, "sample_every": 0, "device": "cpu"},
        "sample": {"num": 1, "length": 48, "steps": 24}}))
    run = tmp / "tiny"
    subprocess.run([UNMASK, "--log-level", "warn", "train", "--config", str(config), "--out", str(run)], check=True,
                   timeout=300)
    return run


class Server:
    def __init__(self, run, tmp, *args, key=None):
        self.log = open(tmp / f"server-{time.monotonic_ns()}.log", "w+")
        cmd = [UNMASK, "serve", "--checkpoint", str(run), "--port", "0", "--device", "cpu", *args]
        if key:
            keyfile = tmp / "key"
            keyfile.write_text(key + "\n")
            cmd += ["--api-key-file", str(keyfile)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()  # "unmask serve: listening on http://127.0.0.1:PORT (model NAME)"
        m = re.search(r"http://([\d.]+):(\d+) \(model (.+)\)", line)
        if not m:
            self.stop()
            raise RuntimeError("the server did not start: " + line + self.logs())
        self.host, self.port, self.model = m.group(1), int(m.group(2)), m.group(3)
        self.url = f"http://{self.host}:{self.port}"
        self.key = key

    def client(self, **kw):
        return openai.OpenAI(base_url=self.url + "/v1", api_key=self.key or "none", max_retries=0, timeout=TIMEOUT, **kw)

    def raw(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        h = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def metrics(self):
        status, _, body = self.raw("GET", "/metrics")
        assert status == 200, status
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def rss_kb(self):
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def logs(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def cli_sample(run, prompt, num, seed, length, steps, tmp):
    out = tmp / f"cli-{time.monotonic_ns()}.jsonl"
    subprocess.run([UNMASK, "--log-level", "warn", "sample", "--checkpoint", str(run), "--prompt", prompt, "--num",
                    str(num), "--seed", str(seed), "--length", str(length), "--steps", str(steps), "--device", "cpu",
                    "--out", str(out)], check=True, timeout=120)
    return [json.loads(line) for line in out.read_text().splitlines()]


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
    body = json.dumps({"model": s.model, "prompt": "A", "max_tokens": 40, "steps": 4000, "stream": True,
                       "sampler": "ancestral"})
    k = socket.create_connection((s.host, s.port), timeout=30)
    k.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {s.key}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    k.recv(100)  # the headers have come: it is running
    time.sleep(0.3)
    k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    k.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and s.metrics()["unmask_requests_running"] > 0:
        time.sleep(0.1)
    after = s.metrics()
    check(after["unmask_requests_running"] == 0, "a client gone mid-stream cancels its rows")
    check(s.client().completions.create(model=s.model, prompt="x", max_tokens=2).choices,
          "the server serves after a client was killed mid-stream")
    # A non-streaming client that closes its connection while its request runs
    # (a plain close: end-of-stream, no reset): the request stops too.
    body = json.dumps({"model": s.model, "prompt": "A", "max_tokens": 40, "steps": 100000, "sampler": "ancestral"})
    k = socket.create_connection((s.host, s.port), timeout=30)
    k.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {s.key}\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and s.metrics()["unmask_requests_running"] == 0:
        time.sleep(0.05)
    running = s.metrics()["unmask_requests_running"]
    k.close()
    t0 = time.monotonic()
    while time.monotonic() < deadline and s.metrics()["unmask_requests_running"] > 0:
        time.sleep(0.05)
    waited = time.monotonic() - t0
    after = s.metrics()
    check(running == 1 and after["unmask_requests_running"] == 0 and waited < 5,
          f"a non-streaming client gone mid-request cancels it (stopped {waited:.2f} s after the close)")
    check(after["unmask_requests_abandoned_total"] - before["unmask_requests_abandoned_total"] == 2
          and after.get('unmask_requests_total{path="/v1/completions",code="499"}', 0) >= 1,
          "both departures are counted (unmask_requests_abandoned_total, code 499)")


# 16 requests with four prompts, three max_tokens and two samplers: several canvas lengths.
MIXED = [dict(prompt=["The", "A", "Once", ""][i % 4], max_tokens=4 + (i % 3) * 6, seed=100 + i,
              extra_body={"steps": 8 + 4 * (i % 2), "sampler": ["ancestral", "confidence"][i % 2]})
         for i in range(16)]
ALONE = {}  # the MIXED texts one at a time, and the forwards they took concurrently


def concurrent_texts(s):
    """MIXED sent concurrently and staggered (they join a running batch): texts and forwards used."""
    c = s.client()
    before = s.metrics()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = []
        for r in MIXED:
            futures.append(pool.submit(lambda r=r: c.completions.create(model=s.model, **r).choices[0].text))
            time.sleep(0.01)
        together = [f.result(timeout=TIMEOUT) for f in futures]
    after = s.metrics()
    delta = {k: after[k] - before.get(k, 0) for k in after}
    return together, delta, after


def concurrency(s):
    c = s.client()
    alone = [c.completions.create(model=s.model, **r).choices[0].text for r in MIXED]
    together, delta, after = concurrent_texts(s)
    check(together == alone, "16 concurrent requests give exactly the texts they give one at a time")
    batches, calls = delta["unmask_network_calls_total"], delta["unmask_request_network_calls_total"]
    check(after["unmask_batch_rows_max"] > 1, f"batches grew beyond one row (largest {after['unmask_batch_rows_max']:.0f})")
    check(0 < batches < calls, f"{batches:.0f} batched forwards served {calls:.0f} requests' calls")
    check(delta["unmask_padding_positions_total"] == 0, "without --pad-lengths nothing is padded")
    ALONE.update(texts=alone, batches=batches)


def pad_lengths(run, tmp):
    """--pad-lengths: the mixed lengths share forwards; texts as one at a time, up to float rounding."""
    s = Server(run, tmp, "--max-batch", "16", "--pad-lengths")
    try:
        together, delta, _ = concurrent_texts(s)
        same = sum(a == b for a, b in zip(together, ALONE["texts"]))
        check(same >= 15, f"with --pad-lengths {same} of 16 texts equal one at a time (rounding may change a tie)")
        batches, calls = delta["unmask_network_calls_total"], delta["unmask_request_network_calls_total"]
        check(delta["unmask_padding_positions_total"] > 0 and batches < ALONE["batches"],
              f"lengths shared forwards: {batches:.0f} forwards for {calls:.0f} calls, "
              f"{ALONE['batches']:.0f} without padding")
    finally:
        s.stop()


def queue_full(run, tmp):
    s = Server(run, tmp, "--max-batch", "1", "--max-queue", "1")
    try:
        body = {"model": s.model, "prompt": "A", "max_tokens": 30, "steps": 3000}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = [pool.submit(s.raw, "POST", "/v1/completions", json.dumps(body)) for _ in range(2)]
            time.sleep(1.0)
            status, headers, data = s.raw("POST", "/v1/completions", json.dumps(body))
            check(status == 429 and headers.get("Retry-After") == "1", "a full queue → 429 with Retry-After")
            try:
                s.client().completions.create(model=s.model, prompt="A", max_tokens=2)
                check(False, "the client sees the full queue")
            except openai.RateLimitError:
                check(True, "the client raises RateLimitError on a full queue")
            # SIGTERM with two requests in flight: both finish, then exit 0.
            s.proc.send_signal(signal.SIGTERM)
            results = [f.result(timeout=TIMEOUT)[0] for f in slow]
        check(results == [200, 200], f"SIGTERM lets the running and the queued request finish ({results})")
        check(s.proc.wait(timeout=30) == 0, "the server exits 0 after draining")
    finally:
        s.stop()


def queue_departures(run, tmp):
    """Clients that leave while queued or running free their places; first come, first served holds."""
    s = Server(run, tmp, "--max-batch", "1", "--max-queue", "4")

    def open_request(steps):  # a raw connection with a request on it, kept open
        body = json.dumps({"model": s.model, "prompt": "A", "max_tokens": 30, "steps": steps})
        k = socket.create_connection((s.host, s.port), timeout=30)
        k.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        return k

    def wait_for(name, value):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and s.metrics()[name] != value:
            time.sleep(0.05)
        return s.metrics()[name] == value

    try:
        a = open_request(100000)
        check(wait_for("unmask_requests_running", 1), "request A runs")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            b = pool.submit(s.raw, "POST", "/v1/completions",
                            json.dumps({"model": s.model, "prompt": "B", "max_tokens": 2, "steps": 2}))
            check(wait_for("unmask_queue_depth", 1), "request B waits behind it")
            c = open_request(100000)
            check(wait_for("unmask_queue_depth", 2), "request C waits behind B")
            c.close()  # C leaves from the middle of the queue
            check(wait_for("unmask_queue_depth", 1), "C's departure leaves B alone in the queue")
            a.close()  # A leaves while running: B's turn
            try:
                status = b.result(timeout=20)[0]
            except concurrent.futures.TimeoutError:
                status = None
            check(status == 200, f"B is served once A leaves ({status})")
        m = s.metrics()
        check(m["unmask_requests_abandoned_total"] == 2 and m["unmask_queue_depth"] == 0
              and m["unmask_requests_running"] == 0, "two departures counted, nothing left queued or running")
        check(s.client().completions.create(model=s.model, prompt="x", max_tokens=2).choices,
              "and the queue admits new requests")
    finally:
        s.stop()


def drain_timeout(run, tmp):
    s = Server(run, tmp, "--drain-timeout", "1")
    try:
        body = {"model": s.model, "prompt": "A", "max_tokens": 40, "steps": 90000}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            f = pool.submit(s.raw, "POST", "/v1/completions", json.dumps(body))
            time.sleep(1.0)
            t0 = time.monotonic()
            s.proc.send_signal(signal.SIGTERM)
            status, _, data = f.result(timeout=TIMEOUT)
        check(status == 503 and b"cancelled" in data, "past --drain-timeout a running request is cancelled (503)")
        check(s.proc.wait(timeout=30) == 0 and time.monotonic() - t0 < 10, "and the server exits 0 soon after")
    finally:
        s.stop()


def memory(s):
    c = s.client()
    def one(i):
        return c.completions.create(model=s.model, prompt="x", max_tokens=4, seed=i, extra_body={"steps": 4})
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(100)))  # warm-up
        start = s.rss_kb()
        list(pool.map(one, range(500)))
    grown = s.rss_kb() - start
    check(grown < 20 * 1024, f"RSS stable over 500 requests (grew {grown} kB)")


def bad_flags(run, tmp):
    """Bad flags and files: exit 1, one line naming what is wrong, no server left."""
    empty = tmp / "empty-key"
    empty.write_text("\n")
    for args, want in ((["--max-batch", "0"], "--max-batch must be at least 1"),
                       (["--port", "70000"], "--port must lie in [0, 65535]"),
                       (["--api-key-file", str(tmp / "missing-key")], "cannot be read"),
                       (["--api-key-file", str(empty)], "is empty")):
        r = subprocess.run([UNMASK, "serve", "--checkpoint", str(run), "--device", "cpu", *args],
                           capture_output=True, text=True, timeout=60)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(r.returncode == 1 and len(lines) == 1 and want in lines[0], f"serve {' '.join(args)} → exit 1: {want}")


def port_in_use(s, run):
    """A second server on a port that is serving: exit 1 naming the port, and the first one still answers."""
    r = subprocess.run([UNMASK, "serve", "--checkpoint", str(run), "--device", "cpu", "--host", s.host,
                        "--port", str(s.port)], capture_output=True, text=True, timeout=60)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 1 and len(lines) == 1 and f":{s.port}: the port is in use" in lines[0],
          f"serve on a port in use → exit 1 naming it ({r.returncode}: {lines[:1]})")
    check(s.raw("GET", "/health")[0] == 200, "and the first server still answers")


def main():
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        run = train(tmp)
        s = Server(run, tmp, "--max-batch", "16", "--max-queue", "32", "--read-timeout", "2", key="test-key-123")
        try:
            for part in (basics, raw_sse, errors, concurrency, slow_clients, memory, port_in_use):
                print(f"--- {part.__name__}", flush=True)
                part(*((s, run, tmp) if part is basics else (s, run) if part is port_in_use else (s,)))
            check(s.proc.poll() is None, "the server is still running")
            logs = s.logs()
            check("test-key-123" not in logs, "the key never appears in the log")
            check(s.stop() == 0, "SIGTERM on an idle server → exit 0")
        finally:
            if s.proc.poll() is None:
                print(s.logs())
            s.stop()
        print("--- bad_flags", flush=True)
        bad_flags(run, tmp)
        print("--- queue_full", flush=True)
        queue_full(run, tmp)
        print("--- pad_lengths", flush=True)
        pad_lengths(run, tmp)
        print("--- queue_departures", flush=True)
        queue_departures(run, tmp)
        print("--- drain_timeout", flush=True)
        drain_timeout(run, tmp)
    if failures:
        print(f"FAILED: {len(failures)} checks:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("PASS: unmask serve with the openai client and curl")


if __name__ == "__main__":
    main()
