"""Load on the HTTP API: N concurrent clients on loopback for a bounded time.

Starts ``latentaudio serve`` as its own process (the server as users run it), then N client
threads each loop: submit a generate job, back off on 429 for Retry-After, poll until it ends,
fetch the audio. After --seconds no new jobs are submitted and the outstanding ones are awaited.
Printed: jobs done, throughput (jobs per minute and generated audio seconds per wall second),
p50/p95 latency (submit -> audio fetched), 429s, failed jobs, and lost jobs (accepted but not
succeeded at the end, checked against the server's own job list).

    python benchmarks/load.py --model tiny --clients 4 --seconds 60
    python benchmarks/load.py --model checkpoints/latentaudio-small --clients 4 --seconds 120
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def tiny_model(folder: Path) -> Path:
    """The tests' tiny random pipeline, saved: measures the server, not the model."""
    sys.path.insert(0, str(ROOT))
    from tests.test_pipeline import pipe

    pipe.__wrapped__().save_pretrained(folder)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client(base: str, stop: threading.Event, body: dict, records: list, lock: threading.Lock,
           counters: dict) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        while not stop.is_set():
            start = time.monotonic()
            response = http.post("/v1/generate", json=body)
            if response.status_code == 429:
                with lock:
                    counters["429"] += 1
                time.sleep(min(5.0, float(response.headers.get("retry-after", "1"))))
                continue
            if response.status_code != 202:
                with lock:
                    counters["rejected"] += 1
                continue
            job = response.json()
            with lock:
                counters["accepted"].append(job["id"])
            while job["status"] in ("queued", "running"):
                time.sleep(0.1)
                job = http.get(f"/v1/jobs/{job['id']}").json()
            if job["status"] != "succeeded":
                with lock:
                    counters["failed"] += 1
                continue
            audio = http.get(job["links"]["audio"])
            assert audio.status_code == 200 and len(audio.content) > 1000
            with lock:
                records.append((time.monotonic() - start, job["seconds"]))


def run(model: str, clients: int, seconds: float, clip_seconds: float, steps: int,
        max_queue: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="latentaudio-load-"))
    checkpoint = tiny_model(work / "tiny") if model == "tiny" else Path(model)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "latentaudio", "serve", "--port", str(port), "--data",
         str(work / "data"), "--checkpoint", str(checkpoint), "--max-queue", str(max_queue),
         "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/v1/health").json()["model"] == "ready":
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {server.stderr.read()[-2000:]}")
            time.sleep(0.2)
        body = {"prompt": "heavy rain on a tin roof", "seconds": clip_seconds, "steps": steps}
        stop, lock = threading.Event(), threading.Lock()
        records: list = []
        counters = {"429": 0, "rejected": 0, "failed": 0, "accepted": []}
        threads = [threading.Thread(target=client, args=(base, stop, body, records, lock,
                                                         counters)) for _ in range(clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
        jobs = {job["id"]: job for job in httpx.get(f"{base}/v1/jobs?limit=500").json()}
    finally:
        server.terminate()
        server.wait(30)
    lost = [i for i in counters["accepted"] if jobs.get(i, {}).get("status") != "succeeded"]
    latencies = sorted(r[0] for r in records)
    return {
        "model": "tiny (random, 1-layer)" if model == "tiny" else str(model),
        "clients": clients, "submit_seconds": seconds, "wall_seconds": round(wall, 1),
        "clip_seconds": clip_seconds, "steps": steps, "jobs_done": len(records),
        "jobs_per_minute": round(60 * len(records) / wall, 1),
        "audio_seconds_per_second": round(sum(r[1] for r in records) / wall, 2),
        "latency_p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p95_s": round(latencies[min(len(latencies) - 1,
                                             int(0.95 * len(latencies)))], 2)
        if latencies else None,
        "http_429": counters["429"], "failed": counters["failed"], "lost": len(lost),
        "rejected_other": counters["rejected"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny",
                        help="'tiny' or a model folder (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long clients submit new jobs")
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--max-queue", type=int, default=2,
                        help="server queue bound (small, so 429s are exercised)")
    args = parser.parse_args()
    result = run(args.model, args.clients, args.seconds, args.clip_seconds, args.steps,
                 args.max_queue)
    print(json.dumps(result, indent=2))
    if result["failed"] or result["lost"]:
        raise SystemExit("jobs were failed or lost")


if __name__ == "__main__":
    main()
