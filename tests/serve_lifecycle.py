"""`unmask serve` servers of their own, for what ends or changes a server or
a queue: --pad-lengths, a full queue, clients leaving the queue, the drain
timeout, bad flags, a port already serving. Run from tests/serve_test.py."""
import concurrent.futures
import json
import signal
import subprocess
import time

import openai

from serve_harness import ALONE, OTHER_LENGTHS, TIMEOUT, UNMASK, Server, beside_anchor, check, concurrent_texts


def pad_lengths(run, tmp):
    """--pad-lengths: the mixed lengths share forwards; texts as one at a time, up to float rounding."""
    s = Server(run, tmp, "--max-batch", "16", "--pad-lengths")
    try:
        together, delta, _ = concurrent_texts(s)
        same = sum(a == b for a, b in zip(together, ALONE["texts"]))
        check(same >= 15, f"with --pad-lengths {same} of 16 texts equal one at a time (rounding may change a tie)")
        batches, calls = delta["unmask_network_calls_total"], delta["unmask_request_network_calls_total"]
        print(f"info: staggered, {batches:.0f} forwards for {calls:.0f} calls, {ALONE['batches']:.0f} without padding",
              flush=True)
        check(delta["unmask_padding_positions_total"] > 0, "shorter canvases were padded")
        shared, texts = beside_anchor(s, OTHER_LENGTHS)
        check(shared > 0, f"with --pad-lengths other lengths share forwards with a running one ({shared:.0f})")
        same = sum(a == b for a, b in zip(texts, ALONE["other_lengths"]))
        check(same >= 3, f"and {same} of their 4 texts equal the unpadded ones")
        check(s.stop() == 0, "the padding server exits 0 on SIGTERM")
    finally:
        s.stop()


def queue_full(run, tmp):
    # The drain timeout far beyond the two requests' time, even on a loaded machine.
    s = Server(run, tmp, "--max-batch", "1", "--max-queue", "1", "--drain-timeout", "300")
    try:
        body = {"model": s.model, "prompt": "A", "max_tokens": 30, "steps": 3000}
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            slow = [pool.submit(s.raw, "POST", "/v1/completions", json.dumps(body), timeout=240) for _ in range(2)]
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
            results = [f.result(timeout=240)[0] for f in slow]
        check(results == [200, 200], f"SIGTERM lets the running and the queued request finish ({results})")
        check(s.proc.wait(timeout=30) == 0, "the server exits 0 after draining")
    finally:
        s.stop()


def queue_departures(run, tmp):
    """Clients that leave while queued or running free their places; first come, first served holds."""
    s = Server(run, tmp, "--max-batch", "1", "--max-queue", "4")

    def open_request(steps):
        return s.open_request({"model": s.model, "prompt": "A", "max_tokens": 30, "steps": steps})

    try:
        a = open_request(100000)
        check(s.wait_for("unmask_requests_running", 1), "request A runs")
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            b = pool.submit(s.raw, "POST", "/v1/completions",
                            json.dumps({"model": s.model, "prompt": "B", "max_tokens": 2, "steps": 2}))
            check(s.wait_for("unmask_queue_depth", 1), "request B waits behind it")
            c = open_request(100000)
            check(s.wait_for("unmask_queue_depth", 2), "request C waits behind B")
            c.close()  # C leaves from the middle of the queue
            check(s.wait_for("unmask_queue_depth", 1), "C's departure leaves B alone in the queue")
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
        check(s.stop() == 0, "that server exits 0 on SIGTERM")
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
