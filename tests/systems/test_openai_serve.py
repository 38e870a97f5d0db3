"""``evalmt run`` against a real OpenAI-compatible server: ``transformers serve`` on 127.0.0.1.

The server serves the tiny causal LM the tests build (a local directory,
offline). The expected outputs are what the server answers when the test
posts the same request body itself.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import yaml

from evalmt.cli import main

pytest.importorskip("uvicorn", reason="transformers[serving] (dev extra) is not installed")
pytest.importorskip("fastapi", reason="transformers[serving] (dev extra) is not installed")
httpx = pytest.importorskip("httpx")

SOURCES = ["我们今天去北京。", "天气很好，我们很高兴。", "这是一个测试句子。"]
REFS = ["We go to Beijing today.", "The weather is nice and we are happy.",
        "This is a test sentence."]
PROMPT = ("Translate the following {src_lang} text into {tgt_lang}. "
          "Reply with the translation only.\n\n{source}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served_model(tiny_qwen2, tmp_path_factory):
    """``transformers serve`` with the tiny Qwen2 model; yields (base_url, model id)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "transformers.cli.transformers", "serve", str(tiny_qwen2),
             "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
             "--dtype", "float32"], stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start in 120 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base_url, str(tiny_qwen2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _oracle(base_url: str, model: str, api: str, source: str) -> dict:
    """POST the request an openai system should send, built here by hand."""
    text = PROMPT.format(src_lang="Chinese", tgt_lang="English", source=source)
    body = {"model": model, "temperature": 0.0, "seed": 0, "max_tokens": 8}
    if api == "chat":
        body["messages"] = [{"role": "user", "content": text}]
        path = "chat/completions"
    else:
        body["prompt"] = text + "\n"
        path = "completions"
    answer = httpx.post(f"{base_url}/{path}", json=body, timeout=60).json()
    choice = answer["choices"][0]
    return {"text": (choice["message"]["content"] if api == "chat" else choice["text"]) or "",
            "usage": answer["usage"], "model": answer["model"]}


@pytest.mark.slow
@pytest.mark.parametrize("api", ["chat", "completions"])
def test_run_outputs_equal_what_the_server_answers(served_model, tmp_path, api):
    base_url, model = served_model
    rows = [{"doc_id": "d1", "src": s, "ref": r} for s, r in zip(SOURCES, REFS, strict=True)]
    (tmp_path / "data.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    config = {
        "name": "served", "metrics": ["bleu"],
        "data": [{"name": "set", "reader": "jsonl", "path": "data.jsonl",
                  "doc_id_field": "doc_id", "src_lang": "zh", "tgt_lang": "en"}],
        "systems": [{"name": "tiny", "type": "openai", "base_url": base_url, "model": model,
                     "api": api, "max_tokens": 8, "cleanup": False, "concurrency": 3,
                     "timeout": 60}],
        "output": str(tmp_path / "results"), "cache": str(tmp_path / "cache.sqlite"),
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    assert main(["run", str(path), "--no-progress"]) == 0

    run_dir = tmp_path / "results" / "served"
    got = [json.loads(line)["hyp"] for line in
           (run_dir / "hypotheses" / "tiny.jsonl").read_text("utf-8").splitlines()]
    expected = [_oracle(base_url, model, api, s) for s in SOURCES]
    assert got == [e["text"].strip() for e in expected]
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    usage = manifest["results"]["set"]["tiny"]["usage"]
    assert usage["requests"] == 3 and usage["failed"] == 0
    assert usage["prompt_tokens"] == sum(e["usage"]["prompt_tokens"] for e in expected)
    assert usage["completion_tokens"] == sum(e["usage"]["completion_tokens"] for e in expected)
