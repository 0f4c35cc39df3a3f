"""`run --config configs/smoke_live.yaml` on a fresh cache folder, as a new user would run it:
tiny random-weight models (weights cannot be downloaded here) and generated videos are made on
first use, an HTTP server is started on 127.0.0.1, and every live backend runs end to end."""
from __future__ import annotations

import pytest

from core.labels import read_label_csv
from tests.support import REPO, run_cli


@pytest.mark.slow
def test_smoke_live_config_runs_every_backend(tmp_path):
    out = tmp_path / "smoke.csv"
    env = {"OVMER_CACHE": str(tmp_path / "cache")}
    process = run_cli("run", "--config", REPO / "configs" / "smoke_live.yaml", "--out", out, env=env)
    assert process.returncode == 0, process.stderr[-2000:]
    assert list(read_label_csv(out)) == ["smoke_a", "smoke_b", "smoke_c"]
    err = process.stderr
    for member in ("qwen-vl", "emotion-qwen-worker", "internvl"):
        assert f"member '{member}': " in err and "loaded" in err
    assert "worker pid" in err and "1 of 1 endpoints answer" in err
    assert "member 'affectgpt': 1 of 3 clips failed (e.g. smoke_c: " in err and "no audio track" in err
    caches = sorted(p.name.split("-")[0] for p in (tmp_path / "cache" / "live").glob("*.jsonl"))
    assert caches == ["AffectGPTMember", "EmotionQwenMember", "InternVLMember", "OpenAIMember", "QwenVLMember"]
    again = run_cli("run", "--config", REPO / "configs" / "smoke_live.yaml", "--out", tmp_path / "again.csv", env=env)
    assert again.returncode == 0 and (tmp_path / "again.csv").read_bytes() == out.read_bytes()
    assert "worker pid" not in again.stderr  # every clip came from the per-clip caches
