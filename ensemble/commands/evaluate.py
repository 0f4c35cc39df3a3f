"""`evaluate`: score a prediction file against gold with both MER-OV metrics."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from omegaconf import OmegaConf

from core.errors import InputError
from core.factory import build
from core.labels import read_label_csv
from core.metrics import ew_scores, mer2024_scores
from core.state import read_state
from core.settings import DEFAULT_LEXICON, default_cache_dir, resolve_data_root
from ensemble.config import merge
from judge.category import KIND
from judge.state import clips_digest
from members.readers import read_label_sets
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)


@dataclass
class EvaluateConfig:
    gold: str = "???"
    pred: str = "???"
    data_root: str = ""
    lexicon: str = "${data_root}/" + DEFAULT_LEXICON
    groupings: str | None = None
    grouper: str | None = None  # identity | cached | local | module:Class; default: cached when groupings given
    trust_pickle: bool = False
    json: bool = False
    state: str | None = None  # the judge state that made `pred`: warns when gold is what it was fitted on


def add_arguments(parser) -> None:
    parser.add_argument("--gold", help="gold CSV (name,openset)")
    parser.add_argument("--pred", help="prediction: submission CSV or any member label file")
    parser.add_argument("--lexicon", help="lexicon folder (default: DATA_ROOT/lexicon/mer2025)")
    parser.add_argument("--groupings", help="cached GPT synonym groupings zip, for the MER2024 metric")
    parser.add_argument("--grouper", help="MER2024 synonym grouper: cached (needs --groupings), local, identity")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or ../shared/data)")
    parser.add_argument("--trust-pickle", action="store_true", help="allow pickled npz predictions")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--state", help="the judge state (.judge.json) that made the predictions: warns when the gold "
                        "clips are the clips it was fitted on (in-sample figures)")


def make_grouper(config):
    """The MER2024 synonym grouper the config names, with the settings its class declares."""
    name = config.grouper or ("cached" if config.groupings else None)
    if not name:
        return None
    shared = {"lexicon": config.lexicon, "groupings": config.groupings or "", "cache_dir": str(default_cache_dir())}
    return build("grouper", {"type": name}, shared)


def evaluate(config) -> dict:
    gold = read_label_csv(config.gold)
    pred = read_label_sets(config.pred, trust_pickle=config.trust_pickle)
    if not set(gold) & set(pred):
        raise InputError(f"{config.pred}: shares no clip with the gold file {config.gold}")
    extra = sorted(set(pred) - set(gold))
    if extra:
        log.warning("%s: %d of its %d clips are not in the gold file %s and are ignored (e.g. %s)",
                    config.pred, len(extra), len(pred), config.gold, extra[0])
    result = {"ew": ew_scores(gold, pred, load_lexicon(config.lexicon)).as_dict()}
    if config.state:
        result["fitted_on_gold"] = fitted_on(config.state, config.gold, gold, pred)
    grouper = make_grouper(config)
    if grouper is not None:
        result["mer2024"] = mer2024_scores(gold, pred, grouper, progress=True).as_dict()
    return result


def fitted_on(state_path: str, gold_path: str, gold, pred) -> bool:
    """True (with a warning) when the scored clips, or the gold file's, are the clips the judge
    state was fitted on: the figures then describe the training clips, not unseen ones."""
    fitted = read_state(state_path, KIND).get("fitted_clips")
    if not isinstance(fitted, dict):
        raise InputError(f"{state_path}: fitted_clips: missing (a state written before it was recorded: run `tune` again)")
    scored = sorted(set(gold) & set(pred))
    same = fitted in (clips_digest(scored), clips_digest(gold))
    if same:
        log.warning("%s: the judge state %s was fitted on these %d gold clips: the figures are in-sample, not what "
                    "unseen clips will get", gold_path, state_path, fitted["count"])
    return same


def _table(result: dict) -> str:
    ew = result["ew"]
    lines = [f"EW  M-avg {ew['m_avg']:.2f}  L1 F {ew['l1_f']:.2f} (P {ew['l1_p']:.2f}, R {ew['l1_r']:.2f})  L2 F {ew['l2_f']:.2f}"]
    for name, s in ew["per_metric"].items():
        lines.append(f"    {name:6s} P {s['p']:6.2f}  R {s['r']:6.2f}  F {s['f']:6.2f}  ({s['n_clips']} clips)")
    if "mer2024" in result:
        m = result["mer2024"]
        lines.append(f"MER2024  Accuracy_s {m['accuracy']:.6f}  Recall_s {m['recall']:.6f}  Avg {m['avg']:.6f}")
    if result.get("fitted_on_gold"):
        lines.append("warning: the judge state was fitted on these gold clips: in-sample figures")
    return "\n".join(lines)


def main(args, overrides) -> int:
    flags = {k: v for k, v in vars(args).items() if v not in (None, False) and k != "verbose"}
    flags["data_root"] = resolve_data_root(flags.pop("data_root", None))
    config = merge(EvaluateConfig, flags, overrides=overrides)
    for needed in ("gold", "pred"):
        if OmegaConf.is_missing(config, needed):
            raise InputError(f"evaluate needs --{needed}")
    result = evaluate(config)
    print(json.dumps(result, indent=None if config.json else 2) if config.json else _table(result))
    return 0
