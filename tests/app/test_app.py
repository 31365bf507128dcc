"""The HTTP API through the ASGI client, with the tiny pipeline: each endpoint, each error, the
queue's limits, cancelling, and a restart that keeps queued and finished jobs."""

import io
import json
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from latentaudio.app import Settings, create_app
from latentaudio.app.store import JobStore
from latentaudio.audio import load_audio
from tests.signals import sine

MODEL = {"id": "tiny", "denoiser_sha256": "0" * 16}


def client_for(generator, data, **settings):
    return TestClient(create_app(Settings(data, **settings), lambda: (generator, MODEL)))


def wait(client, job_id, timeout=120.0, until=("succeeded", "failed", "cancelled")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")


def wav_bytes(seconds=1.0) -> bytes:
    buffer = io.BytesIO()
    import soundfile as sf

    sf.write(buffer, sine(seconds=seconds).T, 44_100, format="WAV")
    return buffer.getvalue()


def error_of(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"] and "\n" not in body["error"]
    return body["error"]


@pytest.fixture
def client(pipe, tmp_path):
    with client_for(pipe, tmp_path / "server") as client:
        yield client


def test_generate_poll_and_fetch(client, tmp_path):
    response = client.post("/v1/generate", json={"prompt": "rain on a roof", "seconds": 1.0,
                                                 "steps": 2, "seed": 3, "format": "flac"})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["request"]["seed"] == 3
    done = wait(client, job["id"])
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    assert done["seconds"] == pytest.approx(1.0)

    audio = client.get(done["links"]["audio"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/flac"
    (tmp_path / "out.flac").write_bytes(audio.content)
    assert load_audio(tmp_path / "out.flac").shape == (2, 44_100)
    sidecar = client.get(done["links"]["sidecar"]).json()
    assert sidecar["seed"] == 3 and sidecar["steps"] == 2 and sidecar["operation"] == "generate"
    assert sidecar["decoder"] == "hybrid"
    assert sidecar["provenance"]["watermark"] and sidecar["model"] == MODEL
    picture = client.get(done["links"]["spectrogram"])
    assert picture.headers["content-type"] == "image/png" and picture.content[:4] == b"\x89PNG"
    # The server chose the file name: no client text in it.
    assert client.get("/v1/jobs").json()[0]["id"] == job["id"]


def test_same_request_same_audio_as_the_library(client, pipe, tmp_path):
    job = client.post("/v1/generate", json={"prompt": "a dog", "seconds": 1.0, "steps": 2,
                                            "seed": 11}).json()
    wait(client, job["id"])
    (tmp_path / "api.wav").write_bytes(client.get(f"/v1/jobs/{job['id']}/audio").content)
    from latentaudio.postprocess import MasteringConfig
    from latentaudio.watermark import WatermarkConfig

    direct = pipe("a dog", seconds=1.0, num_inference_steps=2, seeds=[11], progress=False,
                  mastering=MasteringConfig(watermark=WatermarkConfig())).audios[0]
    np.testing.assert_allclose(load_audio(tmp_path / "api.wav"), direct, atol=1e-4)


@pytest.mark.parametrize("operation, fields", [
    ("inpaint", {"start": "0.3", "end": "0.6"}),
    ("vary", {"strength": "0.5"}),
    ("extend", {"seconds": "2.0"}),
])
def test_edits_take_an_upload_or_an_earlier_job(client, operation, fields):
    common = {"prompt": "rain", "steps": "2", "seed": "1", **fields}
    upload = client.post(f"/v1/{operation}", data=common,
                         files={"audio": ("in.wav", wav_bytes(1.0), "audio/wav")})
    assert upload.status_code == 202, upload.text
    first = wait(client, upload.json()["id"])
    assert first["status"] == "succeeded", first["error"]
    if operation == "extend":
        common["seconds"] = "3.0"
    chained = client.post(f"/v1/{operation}", data={**common, "source_job": first["id"]})
    assert chained.status_code == 202, chained.text
    second = wait(client, chained.json()["id"])
    assert second["status"] == "succeeded", second["error"]
    expected = 3.0 if operation == "extend" else 1.0
    assert second["seconds"] == pytest.approx(expected, abs=1e-3)
    sidecar = client.get(f"/v1/jobs/{second['id']}/sidecar").json()
    assert sidecar["input"] == f"job:{first['id']}" and sidecar["operation"] == operation


def test_loop_is_exactly_the_bars(client):
    job = client.post("/v1/loop", json={"prompt": "beat", "bpm": 120, "bars": 1,
                                        "steps": 2}).json()
    assert wait(client, job["id"])["seconds"] == pytest.approx(2.0)


def test_validation_errors_are_one_line_4xx(client):
    assert "seconds" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                                   "seconds": 500}), 422)
    assert "bogus" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                                 "bogus": 1}), 422)
    assert "prompt" in error_of(client.post("/v1/generate", json={"seconds": 2}), 422)
    assert "format" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                                  "format": "exe"}), 422)
    assert "decoder" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                                   "decoder": "wavenet"}), 422)
    assert "key" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                               "key": "H major"}), 400).lower()
    # Refused by the safety filter, before any queueing.
    assert "artist" in error_of(client.post("/v1/generate", json={
        "prompt": "a song in the style of Taylor Swift"}), 400)
    # Over this server's step limit (the default 100).
    assert "limit" in error_of(client.post("/v1/generate", json={"prompt": "x",
                                                                 "steps": 500}), 400)
    files = {"audio": ("in.wav", wav_bytes(1.0), "audio/wav")}
    assert "region" in error_of(client.post("/v1/inpaint", data={
        "prompt": "x", "start": "0.5", "end": "3"}, files=files), 400)
    assert "longer" in error_of(client.post("/v1/extend", data={
        "prompt": "x", "seconds": "0.5"}, files=files), 400)
    assert "unusable" in error_of(client.post("/v1/vary", data={"prompt": "x"}, files={
        "audio": ("in.wav", b"not audio at all", "audio/wav")}), 400)
    assert "one of the two" in error_of(client.post("/v1/vary", data={"prompt": "x"}), 400)
    assert "typo" in error_of(client.post("/v1/vary", data={"prompt": "x", "typo": "1"},
                                          files=files), 422)
    missing = "0" * 32
    assert "no job" in error_of(client.post("/v1/vary", data={"prompt": "x",
                                                              "source_job": missing}), 404)
    assert "no job" in error_of(client.get(f"/v1/jobs/{missing}"), 404)
    assert "no job" in error_of(client.delete(f"/v1/jobs/{missing}"), 404)
    error_of(client.get("/v1/jobs/..%2F..%2Fjobs.sqlite/audio"), 404)  # no route, no file
    # Nothing was queued by any of these.
    assert client.get("/v1/health").json()["jobs"]["queued"] == 0
    assert client.get("/v1/jobs").json() == []


def test_upload_size_limit(pipe, tmp_path):
    with client_for(pipe, tmp_path / "s", max_upload_mb=0.05) as client:
        response = client.post("/v1/vary", data={"prompt": "x"}, files={
            "audio": ("in.wav", wav_bytes(2.0), "audio/wav")})
        assert "0.05 MB" in error_of(response, 413)
        assert list((tmp_path / "s" / "inputs").iterdir()) == []  # nothing half-kept


def test_big_bodies_are_refused_before_they_are_read(pipe, tmp_path):
    with client_for(pipe, tmp_path / "s", max_upload_mb=0.05) as client:
        too_big = b"x" * 200_000
        declared = client.post("/v1/vary", content=too_big,
                               headers={"content-type": "multipart/form-data; boundary=b"})
        assert "over 0.05 MB" in error_of(declared, 413)

        def chunks():  # no Content-Length: counted while streaming, stopped at the limit
            for _ in range(100):
                yield b"y" * 10_000

        streamed = client.post("/v1/vary", content=chunks(),
                               headers={"content-type": "multipart/form-data; boundary=b"})
        assert streamed.status_code == 413
        assert list((tmp_path / "s" / "inputs").iterdir()) == []


def test_long_compressed_uploads_are_refused_from_their_header(pipe, tmp_path,
                                                               monkeypatch):
    import soundfile as sf

    import latentaudio.audio

    long_silence = tmp_path / "30-minutes.flac"  # ~300 kB of FLAC, 2.4 GB of float32 decoded
    with sf.SoundFile(long_silence, "w", 44_100, 2, format="FLAC") as out:
        block = np.zeros((44_100 * 60, 2), dtype=np.float32)
        for _ in range(30):
            out.write(block)
    assert long_silence.stat().st_size < 2_000_000

    def never(*args, **kwargs):
        raise AssertionError("the whole file was decoded")

    monkeypatch.setattr(latentaudio.audio, "load_audio", never)
    with client_for(pipe, tmp_path / "s") as client:
        response = client.post("/v1/vary", data={"prompt": "x"}, files={
            "audio": ("long.flac", long_silence.read_bytes(), "audio/flac")})
        assert "1800.0 s long" in error_of(response, 400)
        assert list((tmp_path / "s" / "inputs").iterdir()) == []


def test_queue_full_is_429_with_retry_after_and_queued_jobs_cancel(pipe, tmp_path):
    # No workers: everything stays queued.
    with client_for(pipe, tmp_path / "s", workers=0, max_queue=2) as client:
        ids = [client.post("/v1/generate", json={"prompt": f"p{i}", "steps": 2}).json()["id"]
               for i in range(2)]
        assert [client.get(f"/v1/jobs/{i}").json()["queue_position"] for i in ids] == [0, 1]
        full = client.post("/v1/generate", json={"prompt": "one more"})
        assert "queue is full" in error_of(full, 429)
        assert int(full.headers["retry-after"]) >= 1
        # Not finished: no audio yet.
        assert "queued" in error_of(client.get(f"/v1/jobs/{ids[0]}/audio"), 409)
        cancelled = client.delete(f"/v1/jobs/{ids[0]}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert "already cancelled" in error_of(client.delete(f"/v1/jobs/{ids[0]}"), 409)
        assert client.get(f"/v1/jobs/{ids[1]}").json()["queue_position"] == 0
        assert client.post("/v1/generate", json={"prompt": "room again"}).status_code == 202


def test_a_burst_of_requests_never_overfills_the_queue(pipe, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with client_for(pipe, tmp_path / "s", workers=0, max_queue=8) as client:
        def post(i):
            return client.post("/v1/generate", json={"prompt": f"p{i}", "steps": 2}).status_code

        with ThreadPoolExecutor(16) as pool:  # 40 at once, as a hostile client would
            codes = list(pool.map(post, range(40)))
        assert codes.count(202) == 8 and codes.count(429) == 32
        assert client.get("/v1/health").json()["jobs"]["queued"] == 8


class GatedPipe:
    """The tiny pipeline, held at its first denoising step until the test opens the gate."""

    def __init__(self, inner):
        self.pipe, self.gate, self.entered = inner, threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def __call__(self, *args, callback=None, **kwargs):
        def held(done, total):
            self.entered.set()
            self.gate.wait(30)
            callback(done, total)

        return self.pipe(*args, callback=held, **kwargs)


def test_cancel_a_running_job(pipe, tmp_path):
    gated = GatedPipe(pipe)
    with TestClient(create_app(Settings(tmp_path / "s"), lambda: (gated, MODEL))) as client:
        job = client.post("/v1/generate", json={"prompt": "x", "seconds": 1,
                                                "steps": 5}).json()
        assert gated.entered.wait(30)
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "running"
        answer = client.delete(f"/v1/jobs/{job['id']}")
        assert answer.status_code == 200 and answer.json()["cancel_requested"] is True
        gated.gate.set()
        done = wait(client, job["id"])
        assert done["status"] == "cancelled"
        assert not list((tmp_path / "s" / "outputs").glob(f"{job['id']}*"))


def test_a_cancel_after_the_last_step_still_ends_cancelled(pipe, tmp_path,
                                                         monkeypatch):
    import latentaudio.render

    real_render = latentaudio.render.render

    def cancelled_while_writing(pipe_, request, out, **kwargs):  # DELETE lands after step 12
        written = real_render(pipe_, request, out, **kwargs)
        JobStore(tmp_path / "s" / "jobs.sqlite").cancel(out.stem)
        return written

    monkeypatch.setattr(latentaudio.render, "render", cancelled_while_writing)
    with client_for(pipe, tmp_path / "s") as client:
        job = client.post("/v1/generate", json={"prompt": "x", "seconds": 1,
                                                "steps": 2}).json()
        assert wait(client, job["id"])["status"] == "cancelled"
        assert not list((tmp_path / "s" / "outputs").glob(f"{job['id']}*"))


def test_api_key(pipe, tmp_path):
    with client_for(pipe, tmp_path / "s", api_key="sesame", workers=0) as client:
        assert client.get("/v1/health").json()["api_key_required"] is True
        assert "API key" in error_of(client.post("/v1/generate", json={"prompt": "x"}), 401)
        assert "API key" in error_of(client.get("/v1/jobs", headers={"X-API-Key": "nope"}), 401)
        assert client.get("/v1/jobs", headers={"X-API-Key": "sesame"}).status_code == 200
        # A key with non-ASCII characters is a wrong key (401), not a crash (it was a 500).
        for wrong in ("sésame".encode(), b"\xff\xfe", "密码".encode()):
            assert "API key" in error_of(client.get("/v1/jobs", headers={"X-API-Key": wrong}),
                                         401)
        bearer = {"Authorization": "Bearer sesame"}
        assert client.post("/v1/generate", json={"prompt": "x"},
                           headers=bearer).status_code == 202
        assert client.get("/").status_code == 200  # the page itself asks for the key


def test_a_model_that_does_not_load_is_503(tmp_path):
    def broken():
        raise RuntimeError("weights are missing")

    with TestClient(create_app(Settings(tmp_path / "s"), broken)) as client:
        deadline = time.monotonic() + 10
        while client.get("/v1/health").json()["model"] == "loading":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        health = client.get("/v1/health").json()
        assert health["model"] == "failed" and "weights are missing" in health["model_error"]
        assert "did not load" in error_of(client.post("/v1/generate", json={"prompt": "x"}),
                                          503)


def test_restart_keeps_finished_and_queued_jobs(pipe, tmp_path):
    data = tmp_path / "server"
    with client_for(pipe, data) as client:
        finished = client.post("/v1/generate", json={"prompt": "kept", "seconds": 1,
                                                     "steps": 2, "seed": 5}).json()["id"]
        wait(client, finished)
        audio = client.get(f"/v1/jobs/{finished}/audio").content
    with client_for(pipe, data, workers=0) as client:  # a server that only queues, then stops
        queued = [client.post("/v1/generate", json={"prompt": f"later {i}", "seconds": 1,
                                                    "steps": 2}).json()["id"] for i in range(2)]
    # A job a crashed server left running.
    store = JobStore(data / "jobs.sqlite")
    interrupted = store.add("generate", {"operation": "generate", "prompt": "cut short",
                                         "seconds": 1.0, "steps": 2, "seed": 1}, "wav").id
    assert store.claim_next().id == queued[0]  # oldest first (a crash mid-job)
    store.close()
    with client_for(pipe, data) as client:
        assert client.get(f"/v1/jobs/{finished}").json()["status"] == "succeeded"
        assert client.get(f"/v1/jobs/{finished}/audio").content == audio
        for job_id in [*queued, interrupted]:
            assert wait(client, job_id)["status"] == "succeeded"
        assert len(client.get("/v1/jobs").json()) == 4


def test_orphans_are_cleared_at_start_and_a_deleted_output_is_410(pipe, tmp_path):
    data = tmp_path / "server"
    with client_for(pipe, data) as client:
        job = client.post("/v1/generate", json={"prompt": "gone", "seconds": 1,
                                                "steps": 2}).json()["id"]
        done = wait(client, job)
    orphan = data / "outputs" / f".{job}.wav.1234.abcd.part"  # a server killed mid-write
    orphan.write_bytes(b"RIFF")
    with client_for(pipe, data, workers=0) as client:
        assert not orphan.exists()
        (data / "outputs" / f"{job}.wav").unlink()  # deleted by hand
        assert "gone" in error_of(client.get(done["links"]["audio"]), 410)
        response = client.post("/v1/vary", data={"prompt": "x", "source_job": job})
        assert "gone" in error_of(response, 410)


def test_openapi_describes_every_route_and_the_page_is_served(client):
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/v1/generate", "/v1/loop", "/v1/inpaint", "/v1/vary", "/v1/extend", "/v1/jobs",
            "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/audio", "/v1/jobs/{job_id}/sidecar",
            "/v1/jobs/{job_id}/spectrogram", "/v1/health"} <= paths
    assert "delete" in schema["paths"]["/v1/jobs/{job_id}"]
    assert "multipart/form-data" in schema["paths"]["/v1/inpaint"]["post"]["requestBody"][
        "content"]
    assert "429" in schema["paths"]["/v1/generate"]["post"]["responses"]
    # This server's step limit (the default --max-steps, 100), and the one-of-two rule.
    bodies = schema["components"]["schemas"]
    assert bodies["GenerateBody"]["properties"]["steps"]["maximum"] == 100
    assert "not both" in json.dumps(schema["paths"]["/v1/vary"])
    allow = client.options(f"/v1/jobs/{'0' * 32}")
    assert allow.status_code == 204
    assert set(allow.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    page = client.get("/")
    assert page.status_code == 200 and 'id="prompt"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200



def test_serve_refuses_in_one_line(capsys, tmp_path):
    import socket

    from latentaudio import cli

    assert cli.main(["serve", "--checkpoint", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no generator at" in err and "--checkpoint" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        from latentaudio.codec import DEFAULT_MODEL

        assert cli.main(["serve", "--port", str(port), "--checkpoint", str(DEFAULT_MODEL),
                         "--data", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"cannot listen on 127.0.0.1:{port}" in err
