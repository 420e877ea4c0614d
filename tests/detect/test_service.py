"""`voxtwin serve`'s API through FastAPI's test client: every endpoint, every limit, bad uploads, concurrency."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve]'")
from fastapi.testclient import TestClient  # noqa: E402

from detect.detector import Detector  # noqa: E402
from detect.service.app import create_app  # noqa: E402
from detect.service.settings import ServiceSettings  # noqa: E402
from voxtwin import audio  # noqa: E402
from voxtwin.cli import DEMO_AUDIO, app as cli_app  # noqa: E402

TTS = DEMO_AUDIO / "tts_piper_joe.opus"
REAL = DEMO_AUDIO / "real_librispeech_1688-142285-0001.opus"


def client_for(**settings) -> TestClient:
    return TestClient(create_app(ServiceSettings(model="fast", **settings)))


@pytest.fixture(scope="module")
def client():
    with client_for() as c:
        yield c


def upload(client, path=TTS, *, name=None, content=None, **kwargs):
    content = content if content is not None else path.read_bytes()
    return client.post("/v1/score", files={"file": (name or path.name, content, "application/octet-stream")}, **kwargs)


def test_score_returns_what_the_cli_prints(client, runner):
    reply = upload(client)
    assert reply.status_code == 200
    served = reply.json()
    printed = json.loads(runner.invoke(cli_app, ["detect", "score", str(TTS), "--model", "fast", "--json"]).stdout)[0]
    assert served["path"] == TTS.name
    assert {k: v for k, v in served.items() if k != "path"} == {k: v for k, v in printed.items() if k != "path"}


def test_plot_is_a_png(client):
    reply = upload(client, params={"plot": "1"})
    assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
    assert reply.content.startswith(b"\x89PNG")


def test_synthetic_prior_setting_is_used_and_checked(client):
    """`voxtwin serve --synthetic-prior`: the service restates p_synthetic under the operator's prior."""
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    with client_for(synthetic_prior=0.1) as inbox:
        shifted = upload(inbox).json()["p_synthetic"]
        assert inbox.get("/v1/models").json()["synthetic_prior"] == 0.1
        assert '"synthetic_prior": 0.1' in inbox.get("/").text  # the page says it in words (test_service_browser.py)
    assert client.get("/v1/models").json()["synthetic_prior"] == 0.5
    assert logit(shifted) - logit(upload(client).json()["p_synthetic"]) == pytest.approx(np.log(0.1 / 0.9), abs=2e-3)
    with pytest.raises(ValueError, match="synthetic_prior"):
        ServiceSettings(synthetic_prior=1.0)


def test_hop_s(client):
    assert [s["start_s"] for s in upload(client, REAL, data={"hop_s": "2"}).json()["segments"]][:2] == [0.0, 2.0]
    bad = upload(client, data={"hop_s": "0"})
    assert bad.status_code == 400 and "hop_s" in bad.json()["error"]


def test_watermark_models_health_page_and_card(client):
    mark = client.post("/v1/watermark", files={"file": ("m.opus", TTS.read_bytes())})
    assert mark.status_code == 200 and mark.json()["found"] is False and mark.json()["path"] == "m.opus"
    models = client.get("/v1/models").json()
    assert models["loaded"].startswith("spectral-linear@") and {m["name"] for m in models["shipped"]} == {"default", "fast"}
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["waiting"] == 0
    page = client.get("/").text
    assert "Is this voice message synthetic?" in page and "/model-card" in page and "getUserMedia" in page
    assert "https://" not in page and "http://" not in page  # self-contained: nothing from a CDN
    assert "# " in client.get("/model-card").text
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/v1/score", "/v1/watermark", "/v1/models", "/healthz"}


def _truncated_opus() -> bytes:
    data = REAL.read_bytes()
    return data[: len(data) // 3]


@pytest.mark.parametrize(
    "name, data, codes, contains",
    [
        ("empty.opus", b"", {422}, "empty"),
        ("random.wav", np.random.default_rng(0).bytes(20_000), {422}, "cannot decode"),
        ("notes.txt", b"These are my meeting notes, not a recording.\n" * 50, {422}, "cannot decode"),
        ("truncated.opus", _truncated_opus(), {200, 422}, ""),
    ],
)
def test_bad_uploads_are_one_line_json_errors(client, name, data, codes, contains):
    reply = upload(client, name=name, content=data)
    assert reply.status_code in codes, reply.text
    body = reply.json()
    if reply.status_code == 200:
        assert body["p_synthetic"] is not None or "no_speech" in body["flags"]
    else:
        assert list(body) == ["error"] and contains in body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
        assert name in body["error"] and "BytesIO" not in body["error"]


def test_missing_file_field_is_400(client):
    reply = client.post("/v1/score", data={"hop_s": "1"})
    assert reply.status_code == 400 and "file" in reply.json()["error"]


def test_upload_limit_is_413():
    with client_for(max_upload_mb=0.01) as small:
        reply = upload(small)  # 22 KB > 10 KB
        assert reply.status_code == 413 and "MB limit" in reply.json()["error"]


def test_duration_limit_is_422_with_the_error_line():
    with client_for(max_duration_s=2.0) as short:
        reply = upload(short)
        assert reply.status_code == 422 and "longer than the 2 s limit" in reply.json()["error"]


def test_time_limit_is_504(monkeypatch):
    slow_score = Detector.score_file

    def slow(self, *args, **kwargs):
        time.sleep(0.5)
        return slow_score(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "score_file", slow)
    with client_for(request_timeout_s=0.1) as hurried:
        reply = upload(hurried)
        assert reply.status_code == 504 and "0.1 s limit" in reply.json()["error"]


def test_full_queue_is_503_with_retry_after_and_nothing_is_lost(monkeypatch):
    slow_score = Detector.score_file
    started = threading.Event()

    def slow(self, *args, **kwargs):
        started.set()
        time.sleep(0.6)
        return slow_score(self, *args, **kwargs)

    monkeypatch.setattr(Detector, "score_file", slow)
    with client_for(queue_size=1) as busy, ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: upload(busy), range(4)))
    codes = sorted(r.status_code for r in replies)
    assert codes.count(503) >= 1 and codes.count(200) >= 2 and set(codes) <= {200, 503}
    refused = next(r for r in replies if r.status_code == 503)
    assert refused.headers["retry-after"] == "5" and "busy" in refused.json()["error"]


def test_concurrent_requests_all_answered_alike(client):
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: upload(client), range(6)))
    assert {r.status_code for r in replies} == {200}
    assert len({r.json()["p_synthetic"] for r in replies}) == 1


def test_client_names_are_labels_never_paths(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reply = upload(client, name="../../escape/../x.opus")
    assert reply.status_code == 200 and reply.json()["path"] == "x.opus"
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "x.opus").exists()


def test_private_temp_folder_is_empty_between_requests_and_removed(tmp_path):
    service = create_app(ServiceSettings(model="fast"))
    with TestClient(service) as c:
        private = service.state.private_dir
        assert private.name.startswith("voxtwin-serve-") and (private.stat().st_mode & 0o777) == 0o700
        assert upload(c, params={"plot": "1"}).status_code == 200
        big = audio.save(tmp_path / "big.wav", np.zeros(16_000 * 40, dtype=np.float32) + 0.01, 16_000).read_bytes()  # > starlette's 1 MB spool
        assert upload(c, content=big, name="big.wav").status_code == 200
        assert list(private.iterdir()) == []
    assert not private.exists()
