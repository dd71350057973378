"""What tests/serve_test.py and tests/serve_lifecycle.py share: the binary
and fixture paths from the command line, `check` with its list of failures,
a tiny trained model, a server on a free port (started and stopped by the
test), `unmask sample` for comparison, 16 mixed requests sent
concurrently, and requests sent beside an endless one."""
import concurrent.futures
import http.client
import json
import pathlib
import re
import signal
import socket
import subprocess
import sys
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

    def raw(self, method, path, body=None, headers=None, timeout=TIMEOUT):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def open_request(self, body):
        """POST /v1/completions of `body` (a dict) on a raw connection that stays
        open; closing it is the client leaving."""
        data = json.dumps(body)
        auth = f"Authorization: Bearer {self.key}\r\n" if self.key else ""
        k = socket.create_connection((self.host, self.port), timeout=30)
        k.sendall(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"{auth}Content-Length: {len(data)}\r\n\r\n{data}").encode())
        return k

    def wait_for(self, name, value, seconds=20):
        """Whether metric `name` reaches `value` within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.metrics()[name] != value:
            time.sleep(0.05)
        return self.metrics()[name] == value

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


def beside_anchor(s, group):
    """The requests of `group` sent while an endless request (prompt "A",
    max_tokens 8, ancestral) runs, then the endless one is closed: forwards
    shared over that window (calls minus forwards), and the group's texts.
    Unlike MIXED's staggered sending this does not depend on timing: every
    forward of the group can join the anchor's, and each one that joins it
    is counted."""
    anchor = s.open_request({"model": s.model, "prompt": "A", "max_tokens": 8, "steps": 100000,
                             "sampler": "ancestral"})
    s.wait_for("unmask_requests_running", 1)
    before = s.metrics()
    c = s.client()
    with concurrent.futures.ThreadPoolExecutor(len(group)) as pool:
        texts = list(pool.map(lambda r: c.completions.create(model=s.model, **r).choices[0].text, group))
    after = s.metrics()
    anchor.close()
    s.wait_for("unmask_requests_running", 0, seconds=TIMEOUT)
    return ((after["unmask_request_network_calls_total"] - before["unmask_request_network_calls_total"])
            - (after["unmask_network_calls_total"] - before["unmask_network_calls_total"])), texts


def one_at_a_time(s, group):
    c = s.client()
    return [c.completions.create(model=s.model, **r).choices[0].text for r in group]


# Four requests with the anchor's canvas length (BOS + one prompt token + 8),
# and four of lengths that differ from it and from each other.
SAME_LENGTH = [dict(prompt="A", max_tokens=8, seed=seed, extra_body={"steps": 6}) for seed in range(4)]
OTHER_LENGTHS = [dict(prompt="A", max_tokens=n, seed=7, extra_body={"steps": 6}) for n in (3, 5, 11, 14)]
