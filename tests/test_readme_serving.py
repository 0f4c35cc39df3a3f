"""The README's "Serving" section: every member config it shows builds through the factory, names
the model and port its server command serves, and the served ones answer a clip from a real
server on 127.0.0.1 (testkit.serve under the served name, standing in for vLLM / lmdeploy: no
GPU or weights exist here; the server answers in Chinese, as Emotion-Qwen may)."""
from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from core.factory import build
from members.base import Clip
from testkit.media import write_test_video
from testkit.serve import start_server
from tests.support import REPO


def serving_blocks() -> list[tuple[str, str]]:
    """(language, text) of the section's fenced blocks, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Serving\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(bash|yaml)\n(.*?)```", section, flags=re.DOTALL)


def members_with_commands() -> list[tuple[dict, str]]:
    """Each yaml member with the server command block just before it."""
    found, command = [], ""
    for language, text in serving_blocks():
        if language == "bash":
            command = text
        else:
            (member,) = yaml.safe_load(textwrap.dedent(text))
            found.append((member, command))
    return found


def served_name_and_port(command: str) -> tuple[str, str]:
    flat = command.replace("\\\n", " ")
    name = re.search(r"--(?:served-model-name|model-name) (\S+)", flat).group(1)
    port = re.search(r"--(?:port|server-port) (\d+)", flat).group(1)
    return name, port


def test_the_section_shows_each_model():
    members = members_with_commands()
    types = [member.get("member", member)["type"] for member, _ in members]
    assert types.count("openai") == 4 and "emotion_qwen" in types
    commands = "\n".join(text for language, text in serving_blocks() if language == "bash")
    for model in ("Qwen/Qwen2.5-VL-7B-Instruct", "OpenGVLab/InternVL3-8B-hf", "Qwen/Qwen2.5-7B-Instruct"):
        assert f"vllm serve {model}" in commands and f"lmdeploy serve api_server {model}" in commands


@pytest.mark.parametrize("index", range(4))
def test_each_served_member_matches_its_command_and_answers(index, tmp_path):
    member, command = [pair for pair in members_with_commands() if pair[0]["type"] == "openai"][index]
    name, port = served_name_and_port(command)
    assert member["model"] == name and member["url"].endswith(f":{port}")
    video = write_test_video(tmp_path / "clip.mp4", seconds=1.0)
    answer = "她看着镜头笑了。\n情绪：开心、放松"
    with start_server(lambda messages: answer, model=name) as server:
        spec = {**member, "url": server.url, "progress": False, "timeout": 10, "retries": 0}
        built = build("member", spec, {"cache_dir": str(tmp_path)}, label=f"member '{member['name']}'")
        built.setup()
        outputs = built.predict([Clip(name="c", video=video, subtitle="我终于考过了！")])
        built.close()
    assert outputs["c"].ok and outputs["c"].labels == ["开心", "放松"]


def test_the_emotion_qwen_worker_config_builds(tmp_path):
    member = next(member for member, _ in members_with_commands() if member["type"] == "extracted")
    built = build("member", {**member, "member": {**member["member"], "model_path": str(tmp_path)}},
                  {"cache_dir": str(tmp_path)}, label="member 'Emotion-Qwen'")
    inner = built.inner  # the wrapped member, built as a run builds it (nothing is loaded yet)
    assert inner.backend == "worker" and inner.trust_remote_code and inner.python == "/envs/emotionqwen/bin/python"
    extractor_url = member["extractor"]["url"]
    text_model = [text for language, text in serving_blocks() if "Qwen2.5-7B-Instruct" in text][0]
    name, port = served_name_and_port(text_model)
    assert member["extractor"]["model"] == name and extractor_url.endswith(f":{port}")
