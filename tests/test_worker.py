"""members.live.worker: the engines on tiny random-weight models, the model-folder and remote-code
checks, the JSON-lines protocol (in-process and as a real subprocess), and the lmdeploy messages."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from testkit.models import tiny_qwen2_5_vl
from members.live import worker
from tests.vlm_models import build_tiny_models


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    return build_tiny_models(tmp_path_factory.getbasetemp())


def _images(count: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)) for _ in range(count)]


def _requests() -> list[dict]:
    return [{"prompt": "the person looks happy", "images": _images(3), "audio": None, "max_new_tokens": 8},
            {"prompt": "a face", "images": _images(2, seed=1), "audio": None, "max_new_tokens": 5}]


# ---- checks -------------------------------------------------------------------------------------
def test_missing_folder_is_not_a_model_folder(tmp_path):
    with pytest.raises(worker.EngineError, match="not a model folder"):
        worker.load_engine({"family": "qwen2_5_vl", "model_path": str(tmp_path / "nowhere")})


def test_folder_without_config_is_not_a_model_folder(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(worker.EngineError, match=r"not a model folder \(no config.json\)"):
        worker.load_engine({"family": "internvl_hf", "model_path": str(tmp_path)})


def test_broken_config_is_not_a_model_folder(tmp_path):
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(worker.EngineError, match="config.json unreadable"):
        worker.check_model_folder(tmp_path, trust_remote_code=False)


@pytest.mark.parametrize("config", ['{}', '{"model_type": "qwen2_5_vl"}'])
def test_folder_without_a_loadable_model(tmp_path, config):
    (tmp_path / "config.json").write_text(config, encoding="utf-8")
    with pytest.raises(worker.EngineError, match=r"cannot load the model as qwen2_5_vl \("):
        worker.load_engine({"family": "qwen2_5_vl", "model_path": str(tmp_path), "device": "cpu"})


def test_unknown_family():
    with pytest.raises(worker.EngineError, match="unknown engine family 'llava'"):
        worker.load_engine({"family": "llava", "model_path": "x"})


def test_remote_code_refused_before_any_code_is_loaded(tiny_models):
    before = {name for name in sys.modules if "tiny_remote" in name}
    with pytest.raises(worker.EngineError) as error:
        worker.load_engine({"family": "emotion_qwen", "model_path": str(tiny_models["remote"]), "device": "cpu"})
    message = str(error.value)
    assert "auto_map" in message and "trust_remote_code: true" in message
    assert "members.N.trust_remote_code=true" in message
    assert {name for name in sys.modules if "tiny_remote" in name} == before


def test_remote_code_loads_when_trusted(tiny_models):
    engine = worker.load_engine({"family": "emotion_qwen", "model_path": str(tiny_models["remote"]),
                                 "trust_remote_code": True, "device": "cpu"})
    try:
        assert engine.info()["model"] == "TinyRemoteModel"
        texts = engine.generate(_requests()[:1])
        assert len(texts) == 1 and texts[0].strip()
    finally:
        engine.close()


# ---- engines ------------------------------------------------------------------------------------
@pytest.mark.parametrize("family,key", [("qwen2_5_vl", "qwen"), ("internvl_hf", "internvl")])
def test_batch_of_two_answers_as_one_at_a_time(tiny_models, family, key):
    engine = worker.load_engine({"family": family, "model_path": str(tiny_models[key]), "device": "cpu"})
    try:
        requests = _requests()
        batched = engine.generate(requests)
        single = [engine.generate([request])[0] for request in requests]
        assert batched == single
        assert all(text.strip() for text in batched)
        # the per-request limit holds inside a batch: 5 new tokens at most for the second one
        assert len(batched[1].split()) <= 5 < len(batched[0].split())
    finally:
        engine.close()


def test_frames_change_the_answer(tiny_models):
    """The images reach the model: other frames, same prompt, another answer."""
    engine = worker.load_engine({"family": "qwen2_5_vl", "model_path": str(tiny_models["qwen"]), "device": "cpu"})
    try:
        prompt = "the person looks happy"
        answers = {engine.generate([{"prompt": prompt, "images": _images(2, seed), "max_new_tokens": 8}])[0]
                   for seed in range(3)}
        assert len(answers) > 1
    finally:
        engine.close()


def test_cuda_asked_without_a_gpu(tiny_models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(worker.EngineError, match="no CUDA device"):
        worker.load_engine({"family": "qwen2_5_vl", "model_path": str(tiny_models["qwen"]), "device": "cuda"})


# ---- the protocol -------------------------------------------------------------------------------
def _serve(lines: list[str]) -> list[dict]:
    written: list[str] = []
    worker.serve(iter(lines), written.append)
    assert all(text.endswith("\n") and "\n" not in text[:-1] for text in written)
    return [json.loads(text) for text in written]


def test_protocol_malformed_lines_and_recovery():
    image = worker.encode_image(_images(1)[0])
    replies = _serve([
        "this is not json\n",
        "[1, 2]\n",
        json.dumps({"op": "fly"}) + "\n",
        json.dumps({"op": "generate", "id": 1, "requests": [{"prompt": "x"}]}) + "\n",
        json.dumps({"op": "load", "engine": {"family": "nope"}}) + "\n",
        json.dumps({"op": "load", "engine": {"family": "echo"}}) + "\n",
        "\n",
        json.dumps({"op": "generate", "id": 2, "requests": [
            {"prompt": "a", "images": [image, image], "audio": "/x.wav", "max_new_tokens": 4},
            {"prompt": "b", "images": ["not base64!"]},
            {"images": []}]}) + "\n",
        json.dumps({"op": "generate", "id": 3, "requests": []}) + "\n",
        json.dumps({"op": "ping"}) + "\n",
        json.dumps({"op": "close"}) + "\n",
        json.dumps({"op": "ping"}) + "\n",  # after close: never read
    ])
    assert "not JSON" in replies[0]["error"] and "expected an object" in replies[1]["error"]
    assert "unknown op 'fly'" in replies[2]["error"]
    assert replies[3] == {"id": 1, "error": "no engine loaded (send a load first)"}
    assert replies[4]["ok"] is False and replies[4]["kind"] == "input" and "unknown engine family" in replies[4]["error"]
    assert replies[5] == {"ok": True, "info": {"protocol": 1, "family": "echo"}}
    outputs = replies[6]["outputs"]
    assert replies[6]["id"] == 2 and len(outputs) == 3
    assert outputs[0]["text"].startswith("I saw 2 frames (64x48,64x48) and an audio track")
    assert outputs[1]["error"].startswith("bad request") and "string 'prompt'" in outputs[2]["error"]
    assert "non-empty list" in replies[7]["error"]
    assert replies[8]["ok"] is True and replies[8]["loaded"] is True
    assert replies[9] == {"ok": True} and len(replies) == 10


def test_worker_subprocess_speaks_only_json_on_stdout(tmp_path):
    """The real script in a fresh interpreter: stdout holds protocol lines only, logs go to stderr."""
    image = worker.encode_image(_images(1)[0], "JPEG")
    lines = [
        "garbage\n",
        json.dumps({"op": "load", "engine": {"family": "qwen2_5_vl", "model_path": str(tmp_path)}}) + "\n",
        json.dumps({"op": "load", "engine": {"family": "echo", "chatter": True}}) + "\n",
        json.dumps({"op": "generate", "id": 7, "requests": [{"prompt": "p", "images": [image]}]}) + "\n",
        json.dumps({"op": "close"}) + "\n",
    ]
    done = subprocess.run([sys.executable, worker.__file__], input="".join(lines), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert "malformed" in replies[0]["error"]
    assert replies[1]["ok"] is False and "not a model folder" in replies[1]["error"]
    assert replies[2]["ok"] is True
    assert replies[3]["id"] == 7 and replies[3]["outputs"][0]["text"].startswith("I saw 1 frames")
    assert replies[4] == {"ok": True}
    assert "chatter from model code" in done.stderr and "chatter from a C library" in done.stderr


def test_worker_imports_nothing_of_the_project():
    source = Path(worker.__file__).read_text(encoding="utf-8")
    for package in ("core", "members", "vocab", "judge", "ensemble"):
        assert f"from {package}" not in source and f"import {package}" not in source


# ---- lmdeploy -----------------------------------------------------------------------------------
class FakePipe:
    """Stands in for an lmdeploy pipeline (lmdeploy needs a GPU and is not installed here): records
    what it is given and answers with one response per conversation."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.closed = False

    def __call__(self, prompts, gen_config=None):
        self.calls.append((prompts, gen_config))
        return [type("Response", (), {"text": f"answer {i}"})() for i in range(len(prompts))]

    def close(self):
        self.closed = True


def test_lmdeploy_messages_frames_as_tiles():
    pipe = FakePipe()
    engine = worker.LmdeployEngine({"model_path": "unused"}, pipe=pipe)
    texts = engine.generate([{"prompt": "Who?", "images": _images(2), "max_new_tokens": 9},
                             {"prompt": "Why?", "images": _images(1), "max_new_tokens": 30}])
    assert texts == ["answer 0", "answer 1"]
    conversations, config = pipe.calls[0]
    assert config == {"top_k": 1, "max_new_tokens": 30}
    first = conversations[0]
    assert len(first) == 1 and first[0]["role"] == "user"
    content = first[0]["content"]
    assert content[0] == {"type": "text", "text": "Frame1: <IMAGE_TOKEN>\nFrame2: <IMAGE_TOKEN>\nWho?"}
    assert [item["type"] for item in content[1:]] == ["image_url", "image_url"]
    url = content[1]["image_url"]
    assert url["max_dynamic_patch"] == 1 and url["url"].startswith("data:image/jpeg;base64,")
    decoded = worker.decode_image(url["url"].split(",", 1)[1])
    assert decoded.size == (64, 48)
    assert conversations[1][0]["content"][0]["text"] == "Frame1: <IMAGE_TOKEN>\nWhy?"
    engine.close()
    assert pipe.closed


def test_lmdeploy_missing_is_one_clear_error(tiny_models):
    pytest.importorskip("torch")
    if importlib.util.find_spec("lmdeploy") is not None:
        pytest.skip("lmdeploy is installed here")
    with pytest.raises(worker.EngineError, match="pip install lmdeploy"):
        worker.load_engine({"family": "internvl_lmdeploy", "model_path": str(tiny_models["internvl"])})


# ---- the tiny model builders --------------------------------------------------------------------
def test_builders_are_idempotent_and_leave_no_temp_folders(tiny_models):
    folder = tiny_models["qwen"]
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert tiny_qwen2_5_vl(folder) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in folder.parent.iterdir()) == ["internvl", "qwen2_5_vl", "remote"]
    assert (tiny_models["remote"] / "modeling_tiny_remote.py").is_file()
    assert "auto_map" in json.loads((tiny_models["remote"] / "config.json").read_text(encoding="utf-8"))
