"""Speed and memory of `run` at challenge scale, against the I/O floor (prints JSON, last line).

Workload: N synthetic clips (default 20,000), each a copy of a random real clip of the members
of a config (default configs/ovmerd.yaml): every member's labels for that source clip, written
as one `name,openset` CSV per member under the cache dir (never the repository), seeded. Clips
keep the real co-occurrence of the members' words (the vocabulary sees the real ~500 words).

Timed, each as a whole process (wall time; peak RSS of that child via wait4):
  tuned:   `run` with the judge tuned on the dev gold (the tuned config is reused from the cache
           dir unless --retune; the tune's own time is reported when it runs);
  untuned: `run` with the config's own judge (a 3-of-11 vote);
  explain: with --explain, `run --explain` with the tuned judge (the explain file's cost is
           `explain` minus `tuned`; its size is reported);
  floor:   a process that reads the same member files with the same reader
           (members.readers.read_outputs) and writes a submission CSV of about the same size
           with core.labels.write_label_csv (each clip: the first member's first two labels);
  evaluate: `evaluate --json` of the tuned submission against an N-clip gold made by
           resampling the dev gold the same way (EW metrics; no groupings exist for such clips).

    python experiments/bench_pipeline.py [--clips 20000] [--seed 0] [--retune] [--data-root DIR]
    python experiments/bench_pipeline.py --clips 200000 --repeat 1   # the memory goal
    python experiments/bench_pipeline.py --config configs/ovmerd_views.yaml --skip-tuned   # the default config
    python experiments/bench_pipeline.py --config configs/ovmerd_views.yaml --explain   # + run --explain

Each process runs --repeat times (default 3), interleaved; the fastest wall and CPU times and
the largest peak RSS are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from omegaconf import OmegaConf  # noqa: E402

from core.labels import label_csv_text, read_label_csv  # noqa: E402
from core.settings import default_cache_dir, resolve_data_root  # noqa: E402
from ensemble.config import load_config  # noqa: E402
from members.readers import read_label_sets  # noqa: E402

FLOOR = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from core.labels import write_label_csv
from members.readers import read_outputs
answers = {{}}
for path in sys.argv[2:]:
    for clip, out in read_outputs(path).items():
        answers.setdefault(clip, list(out.labels or [])[:2])
write_label_csv(sys.argv[1], answers)
"""


def run_measured(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Wall seconds and peak RSS (MB) of one child process, taken with os.wait4."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}")
    return {"seconds": round(seconds, 3), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout.decode()}


def build_workload(config_path: Path, data_root: str, n_clips: int, seed: int, folder: Path) -> tuple[Path, Path, list[Path]]:
    """(bench config, N-clip gold, member files): written once per (config, N, seed)."""
    config = load_config(config_path, data_root=data_root)
    resolved = OmegaConf.to_container(config, resolve=True)
    bench_config = folder / "bench.yaml"
    gold_path = folder / "gold.csv"
    member_files = [folder / "members" / f"{m['name']}.csv" for m in resolved["members"]]
    if bench_config.is_file() and gold_path.is_file() and all(p.is_file() for p in member_files):
        return bench_config, gold_path, member_files
    rng = random.Random(seed)
    labels = {m["name"]: read_label_sets(m["path"]) for m in resolved["members"]}
    sources = sorted({clip for per_clip in labels.values() for clip in per_clip})
    picks = [sources[rng.randrange(len(sources))] for _ in range(n_clips)]
    names = [f"bench_{k:07d}" for k in range(n_clips)]
    (folder / "members").mkdir(parents=True, exist_ok=True)
    for member, path in zip(labels, member_files):
        own = labels[member]
        path.write_text(label_csv_text({name: own[src] for name, src in zip(names, picks) if src in own}))
    gold = read_label_csv(Path(data_root) / "ovmerd/gold_dev.csv")
    gold_sources = sorted(gold)
    gold_path.write_text(label_csv_text({name: gold[gold_sources[rng.randrange(len(gold_sources))]] for name in names}))
    raw = OmegaConf.load(config_path)
    raw.data_root = data_root
    if config.judge.get("state"):  # a state shipped beside the config, found from the bench config too
        raw.judge.state = config.judge.state
    for entry, path in zip(raw.members, member_files):
        entry.path = str(path)
    OmegaConf.save(raw, bench_config)
    return bench_config, gold_path, member_files


def tuned_judge(config_path: Path, data_root: str, folder: Path, retune: bool, env: dict[str, str]) -> tuple[dict, dict | None]:
    """The tuned judge section (tuned on the dev gold, cached under `folder`) and the tune's wall and CPU
    seconds (None when the cached tune was reused). The tune runs with the config's tune.n_jobs."""
    tuned = folder / "tuned.yaml"
    seconds = None
    if retune or not tuned.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        result = run_measured(
            [sys.executable, "run_ensemble.py", "tune", "--config", str(config_path), "--data-root", data_root,
             "--gold", str(Path(data_root) / "ovmerd/gold_dev.csv"), "--out", str(tuned), "--no-loo"],
            env,
        )
        seconds = {"tune_seconds": result["seconds"], "tune_cpu_seconds": result["cpu_seconds"]}
    return OmegaConf.to_container(OmegaConf.load(tuned).judge), seconds


def best_of(runs: list[dict]) -> dict:
    """The fastest wall and CPU time of repeated runs (the least disturbed by other load), the largest RSS."""
    return {"seconds": min(r["seconds"] for r in runs), "cpu_seconds": min(r["cpu_seconds"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs), "stdout": runs[-1]["stdout"]}


def summary(result: dict, floor: dict, out: Path, n_clips: int) -> dict:
    return {
        "run_seconds": result["seconds"],
        "floor_seconds": floor["seconds"],
        "ratio": round(result["seconds"] / floor["seconds"], 2),
        # CPU seconds too: on a shared machine wall time also counts other processes' load.
        "run_cpu_seconds": result["cpu_seconds"],
        "floor_cpu_seconds": floor["cpu_seconds"],
        "cpu_ratio": round(result["cpu_seconds"] / floor["cpu_seconds"], 2),
        "peak_rss_mb": result["peak_rss_mb"],
        "floor_peak_rss_mb": floor["peak_rss_mb"],
        "clips_per_second": round(n_clips / result["seconds"]),
        "output_bytes": out.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default=str(REPO / "configs/ovmerd.yaml"))
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--retune", action="store_true", help="tune again even when a tuned config is cached")
    parser.add_argument("--skip-untuned", action="store_true")
    parser.add_argument("--skip-tuned", action="store_true",
                        help="time only the config's own judge (e.g. the default config, whose judge is fitted already)")
    parser.add_argument("--chunk-clips", type=int, default=None, help="the runs' chunk_clips (default: the config's)")
    parser.add_argument("--skip-evaluate", action="store_true")
    parser.add_argument("--explain", action="store_true", help="also time `run --explain` with the tuned judge")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each process; the best is reported")
    args = parser.parse_args()
    data_root = str(Path(resolve_data_root(args.data_root)).resolve())
    config_path = Path(args.config).resolve()
    cache = default_cache_dir() / "bench"
    folder = cache / f"{config_path.stem}-{args.clips}-{args.seed}"
    env = {**os.environ, "OVMER_DATA": data_root}

    bench_config, gold_path, member_files = build_workload(config_path, data_root, args.clips, args.seed, folder)
    if args.skip_tuned and args.skip_untuned:
        raise SystemExit("nothing to time: --skip-tuned with --skip-untuned")
    variants = {}
    judge, tune_seconds = OmegaConf.to_container(OmegaConf.load(bench_config).judge), None
    if not args.skip_tuned:
        judge, tune_seconds = tuned_judge(config_path, data_root, cache / f"tune-{config_path.stem}", args.retune, env)
        tuned_config = folder / "bench_tuned.yaml"
        raw = OmegaConf.load(bench_config)
        OmegaConf.update(raw, "judge", judge, merge=False)
        OmegaConf.save(raw, tuned_config)
        variants["tuned"] = (tuned_config, folder / "tuned.csv")
    if not args.skip_untuned:
        variants["untuned"] = (bench_config, folder / "untuned.csv")
    overrides = [] if args.chunk_clips is None else [f"chunk_clips={args.chunk_clips}"]

    floor_out = folder / "floor.csv"
    floor_command = [sys.executable, "-c", FLOOR.format(repo=str(REPO)), str(floor_out), *map(str, member_files)]
    # Interleaved repeats, best of each: the floor and the runs see the same spells of load.
    runs: dict[str, list[dict]] = {"floor": [], **{name: [] for name in variants}}
    for _ in range(args.repeat):
        runs["floor"].append(run_measured(floor_command, env))
        for name, (config, out) in variants.items():
            command = [sys.executable, "run_ensemble.py", "run", "--config", str(config), "--out", str(out), *overrides]
            runs[name].append(run_measured(command, env))
        if args.explain:
            command = [sys.executable, "run_ensemble.py", "run", "--config", str(tuned_config),
                       "--out", str(folder / "explained.csv"), "--explain", str(folder / "explain.jsonl")]
            runs.setdefault("explain", []).append(run_measured(command, env))
    floor = best_of(runs["floor"])
    report = {"config": config_path.name, "clips": args.clips, "members": len(member_files), "judge": judge.get("type"),
              "repeats": args.repeat, "chunk_clips": args.chunk_clips,
              "member_bytes": sum(p.stat().st_size for p in member_files), "floor_output_bytes": floor_out.stat().st_size}
    if "tuned" in variants:
        report.update(summary(best_of(runs["tuned"]), floor, variants["tuned"][1], args.clips))
    if tune_seconds is not None:
        report.update(tune_seconds)
    if args.explain:
        report["explain"] = summary(best_of(runs["explain"]), floor, folder / "explained.csv", args.clips)
        report["explain"]["explain_bytes"] = (folder / "explain.jsonl").stat().st_size
    if "untuned" in variants:
        report["untuned"] = summary(best_of(runs["untuned"]), floor, variants["untuned"][1], args.clips)
    if not args.skip_evaluate and "tuned" in variants:
        result = run_measured([sys.executable, "run_ensemble.py", "evaluate", "--gold", str(gold_path),
                               "--pred", str(folder / "tuned.csv"), "--json"], env)
        report["evaluate"] = {"seconds": result["seconds"], "cpu_seconds": result["cpu_seconds"],
                              "peak_rss_mb": result["peak_rss_mb"],
                              "ew_l1_f": round(json.loads(result["stdout"])["ew"]["l1_f"], 4)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
