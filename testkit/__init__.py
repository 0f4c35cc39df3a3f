"""Test scaffolding, kept apart from the product: what the tests, the benchmarks and the CPU smoke
config (`configs/smoke_live.yaml`) build instead of real models, videos and servers.

- `testkit.serve`   a small OpenAI-compatible chat server on 127.0.0.1 (`python -m testkit.serve`)
- `testkit.models`  tiny seeded random-weight Qwen2.5-VL, InternVL3-hf and remote-code model folders
- `testkit.media`   short synthetic video clips with or without an audio track
- `testkit.smoke`   the `${smoke:...}` resolver of the smoke config (made on first use)
- `testkit/fake_affectgpt/`  a stand-in AffectGPT checkout (its script's interface, no model)

Nothing under members/, judge/, vocab/ or core/ imports this package; ensemble/config.py
imports testkit.smoke only when a config uses `${smoke:...}`.
"""
