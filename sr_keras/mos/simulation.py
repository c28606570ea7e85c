"""Simulated raters: answer a running study over HTTP from a known per-method score plus noise.

A simulated rater r scoring a stimulus of method m answers
    clip(round(mu[m] + b_r + e), 1, 5),   b_r ~ N(0, rater_sd^2) once per rater,  e ~ N(0, noise_sd^2)
(rounding half up), and the calibration anchors exactly.  Their expected score is
`expected_score(mu[m], sqrt(rater_sd^2 + noise_sd^2))` (not mu[m] itself: rounding and clipping to
1-5 pull the mean inwards near the ends of the scale), which is what `results` should recover.

The raters are blind like people are: the method of an item comes from an answer key that the
harness reads from the study database (the owner's side), never from the server's answers.
They talk to the server as the rating page does (GET /api/TOKEN/next, POST /api/TOKEN/rate, with
a persistent HTTP/1.1 connection each), and can run concurrently: the load test.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import threading
import time
import urllib.parse

import numpy as np


def expected_score(mu: float, sd: float) -> float:
    """E[clip(round_half_up(X), 1, 5)] for X ~ N(mu, sd^2): sum_k k * P(score = k)."""
    from scipy.stats import norm

    if sd == 0:
        return float(min(5, max(1, math.floor(mu + 0.5))))
    edges = np.array([-np.inf, 1.5, 2.5, 3.5, 4.5, np.inf])
    probabilities = np.diff(norm.cdf((edges - mu) / sd))
    return float(np.dot(np.arange(1, 6), probabilities))


def answer_key(study_dir: str) -> dict[str, dict]:
    """presentation id -> {'method', 'phase', 'anchor', 'rater_id'} from the study database."""
    from sr_keras.mos import database

    connection = database.connect(study_dir)
    rows = connection.execute(
        "SELECT p.id, p.rater_id, s.method, s.phase, s.anchor FROM presentations p JOIN stimuli s ON s.id = p.stimulus_id"
    ).fetchall()
    connection.close()
    return {row["id"]: {"rater_id": row["rater_id"], "method": row["method"], "phase": row["phase"], "anchor": row["anchor"]} for row in rows}


@dataclasses.dataclass
class Submission:
    token: str
    item: str
    score: int
    status: int        # HTTP status of the POST (0: no answer, the connection failed)
    latency_s: float   # POST sent -> answer read


class Client:
    """A persistent HTTP/1.1 connection to the study server, with JSON helpers."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.timeout = parsed.hostname, parsed.port or 80, timeout
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
        for attempt in (0, 1):  # one reconnect if the server closed an idle keep-alive connection
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt or method != "GET":
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload=None) -> tuple[int, dict]:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(method, path, body, {"Content-Type": "application/json"} if body else None)
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, {"error": data[:200].decode(errors="replace")}

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class SimulatedRater:
    """One simulated rater (see the module docstring); `run` rates until done, `limit`, or `stop`."""

    def __init__(self, base_url: str, token: str, key: dict, mu: dict[str, float], rater_sd: float, noise_sd: float, seed: int):
        self.client = Client(base_url)
        self.token, self.key, self.mu, self.noise_sd = token, key, mu, noise_sd
        self.rng = np.random.default_rng(seed)
        self.bias = float(self.rng.normal(0.0, rater_sd)) if rater_sd else 0.0
        self.submissions: list[Submission] = []

    def score_for(self, item: str) -> int:
        entry = self.key[item]
        if entry["phase"] == "calibration":
            return int(entry["anchor"])
        latent = self.mu[entry["method"]] + self.bias + self.rng.normal(0.0, self.noise_sd)
        return int(min(5, max(1, math.floor(latent + 0.5))))

    def run(self, limit: int | None = None, stop: threading.Event | None = None, deadline: float | None = None) -> None:
        status, state = self.client.json("GET", f"/api/{self.token}/next")
        if status != 200:
            raise RuntimeError(f"rater {self.token[:6]}: GET next answered {status} {state}")
        while not state["done"] and (limit is None or len(self.submissions) < limit):
            if (stop is not None and stop.is_set()) or (deadline is not None and time.monotonic() > deadline):
                break
            item = state["item"]["id"]
            score = self.score_for(item)
            started = time.perf_counter()
            try:
                status, answer = self.client.json("POST", f"/api/{self.token}/rate", {"item": item, "score": score})
            except (OSError, http.client.HTTPException):  # the server went away (e.g. killed)
                self.submissions.append(Submission(self.token, item, score, 0, time.perf_counter() - started))
                break
            self.submissions.append(Submission(self.token, item, score, status, time.perf_counter() - started))
            if status != 200:
                break
            state = answer
        self.client.close()


def run_raters(base_url: str, tokens: list[str], key: dict, mu: dict[str, float], *, rater_sd: float = 0.3,
               noise_sd: float = 0.7, seed: int = 0, concurrent: bool = True, limit: int | None = None,
               timeout_s: float = 120.0, stop: threading.Event | None = None) -> list[SimulatedRater]:
    """Run one simulated rater per token (all at once in threads if `concurrent`); returns them."""
    raters = [SimulatedRater(base_url, t, key, mu, rater_sd, noise_sd, seed * 1000 + i) for i, t in enumerate(tokens)]
    deadline = time.monotonic() + timeout_s
    errors = []

    def work(rater):
        try:
            rater.run(limit=limit, stop=stop, deadline=deadline)
        except Exception as error:  # noqa: BLE001 - reported to the caller below
            errors.append(error)

    if concurrent:
        threads = [threading.Thread(target=work, args=(r,), daemon=True) for r in raters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 5.0)
    else:
        for rater in raters:
            work(rater)
    if errors:
        raise errors[0]
    return raters


def latency_summary(raters: list[SimulatedRater]) -> dict:
    """Counts and POST latency percentiles (milliseconds) of a run."""
    submissions = [s for r in raters for s in r.submissions]
    latencies = np.array([s.latency_s for s in submissions if s.status == 200]) * 1000.0
    return {
        "raters": len(raters),
        "submitted": len(submissions),
        "acknowledged": int(sum(s.status == 200 for s in submissions)),
        "refused_or_failed": int(sum(s.status != 200 for s in submissions)),
        "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies.size else None,
        "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies.size else None,
        "latency_ms_max": float(latencies.max()) if latencies.size else None,
    }
