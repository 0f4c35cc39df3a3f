"""`convert`: turn upstream pickled description files into JSONL once, so nothing needs trust after.

    python run_ensemble.py convert --input DESCRIPTIONS.npz --out DESCRIPTIONS.jsonl
    python run_ensemble.py convert --config CFG.yaml --out CONVERTED.yaml [--data-root DIR]

An upstream description npz holds a pickled dict (`name2reason`). It is read here by a
data-only unpickler (core.safepickle) that refuses any pickle naming a function or class
other than numpy's array reconstruction, so converting runs no code and needs no
`--trust-pickle`. The JSONL has one object per clip, sorted by name:
`{"name": ..., "description": ...}` (and `"labels"` when the input has labels).

With `--config`, every member of the config reading a description npz is converted into
`<CONVERTED stem>/<member name>.jsonl` beside the new config, which points at the JSONL files
and sets no `trust_pickle`; the other members and settings are kept.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

from omegaconf import OmegaConf

from core.errors import InputError
from core.files import atomic_write_text, check_output_path
from core.safepickle import load_npz
from core.uses import PathUse
from ensemble.config import config_inputs, load_config, save_config
from ensemble.pipeline import build_parts
from members.readers import read_outputs

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="a member output file (description npz, label npz, CSV or JSONL)")
    source.add_argument("--config", help="a config whose description-npz members to convert")
    parser.add_argument("--out", required=True, help="JSONL to write (with --input) or the converted config YAML (with --config)")
    parser.add_argument("--data-root", help="data folder (with --config; default: $OVMER_DATA or the config's data_root)")


def is_description_npz(path: str | Path) -> bool:
    """An npz of the upstream description format (holds `name2reason`), read without unpickling."""
    import zipfile

    path = Path(path)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "name2reason.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def records_of(path: str | Path) -> list[dict]:
    """{"name", "description"[, "labels"]} per clip of a member file, sorted by name; no code runs."""
    path = Path(path)
    arrays = load_npz(path) if path.suffix.lower() == ".npz" else {}  # a corrupt npz: one clear error
    if "name2reason" in arrays:
        reasons = arrays["name2reason"]
        reasons = reasons.item() if reasons.shape == () else None
        if not isinstance(reasons, dict):
            raise InputError(f"{path}: name2reason is not a dict of clip -> description")
        records: dict[str, dict] = {}
        for name, text in reasons.items():
            key = str(name).strip()
            if not key:
                raise InputError(f"{path}: name2reason has an empty clip name")
            if key in records:
                raise InputError(f"{path}: clip {key} appears twice in name2reason")
            if not isinstance(text, str):
                raise InputError(f"{path}, clip {key}: description is a {type(text).__name__}, not text")
            records[key] = {"name": key, "description": str(text)}
        if not records:
            raise InputError(f"{path}: name2reason is empty")
        return [records[name] for name in sorted(records)]
    out = []
    for name, output in sorted(read_outputs(path).items()):
        record: dict = {"name": name}
        if output.description is not None:
            record["description"] = output.description
        if output.labels is not None:
            record["labels"] = list(output.labels)
        out.append(record)
    return out


def write_jsonl(records: list[dict], path: str | Path) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def convert_file(source: str | Path, out: str | Path) -> int:
    """Write the JSONL of one member file; returns the number of clips."""
    records = records_of(source)
    write_jsonl(records, out)
    return len(records)


def _file_name(member: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", member).strip("._") or "member"


def convert_config(config, out: Path, config_path: str | Path | None = None, uses: list[PathUse] | None = None) -> int:
    """Convert a loaded config's description-npz members; write the new config to `out`.
    uses: what the config's parts read and write, which no JSONL written may land on.
    Returns how many members were converted."""
    resolved = OmegaConf.to_container(config, resolve=True)
    folder = out.parent / out.stem
    todo, used = [], set()  # (member index, its npz, the JSONL to write)
    for index, member in enumerate(resolved.get("members") or []):
        path = member.get("path")
        if not path or not is_description_npz(path):
            continue
        name = _file_name(str(member.get("name") or f"member{index + 1}"))
        while name in used:
            name += "_"
        used.add(name)
        todo.append((index, path, folder / f"{name}.jsonl"))
    if not todo:
        raise InputError(f"{config_path}: no member reads a description npz; nothing to convert")
    for _, _, target in todo:  # all checked before any is written
        check_output_path(target, uses or [])
    for index, path, target in todo:
        count = convert_file(path, target)
        node = config.members[index]
        node.path = str(target.resolve())
        if "trust_pickle" in node:
            node.pop("trust_pickle")
        log.info("%s: %d clips -> %s", node.get("name"), count, target)
    converted = len(todo)
    save_config(config, out)
    return converted


def main(args: argparse.Namespace, overrides: list[str]) -> int:
    out = Path(args.out)
    if args.input:
        if overrides:
            raise InputError(f"convert --input takes no overrides (got '{overrides[0]}')")
        check_output_path(out, [PathUse(args.input, "--input")])
        count = convert_file(args.input, out)
        log.info("convert: %d clips -> %s", count, out)
        return 0
    config = load_config(args.config, overrides, data_root=args.data_root)
    uses = [PathUse(args.config, "--config"), *config_inputs(config), *build_parts(config).paths()]
    check_output_path(out, uses)
    count = convert_config(config, out, args.config, uses)
    log.info("convert: %d members converted; run with --config %s", count, out)
    return 0
