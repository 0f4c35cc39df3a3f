"""`evaluate`: score a prediction file against gold with both MER-OV metrics."""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass

from omegaconf import OmegaConf

from ensemble.config import merge, resolve_data_root
from ensemble.errors import InputError
from ensemble.labels import read_label_csv
from ensemble.metrics import ew_scores, mer2024_scores
from members.registry import resolve_target
from members.readers import read_label_sets
from vocab.lexicon import load_lexicon

log = logging.getLogger(__name__)

GROUPERS = {
    "identity": "ensemble.metrics.mer2024:IdentityGrouper",
    "cached": "ensemble.metrics.mer2024:ZipGrouper",
}


@dataclass
class EvaluateConfig:
    gold: str = "???"
    pred: str = "???"
    data_root: str = ""
    lexicon: str = "${data_root}/lexicon/mer2025"
    groupings: str | None = None
    grouper: str | None = None  # identity | cached | local | module:Class; default: cached when groupings given
    trust_pickle: bool = False
    json: bool = False


def add_arguments(parser) -> None:
    parser.add_argument("--gold", help="gold CSV (name,openset)")
    parser.add_argument("--pred", help="prediction: submission CSV or any member label file")
    parser.add_argument("--lexicon", help="lexicon folder (default: DATA_ROOT/lexicon/mer2025)")
    parser.add_argument("--groupings", help="cached GPT synonym groupings zip, for the MER2024 metric")
    parser.add_argument("--grouper", help="MER2024 synonym grouper: cached (needs --groupings), local, identity")
    parser.add_argument("--data-root", help="data folder (default: $OVMER_DATA or ../shared/data)")
    parser.add_argument("--trust-pickle", action="store_true", help="allow pickled npz predictions")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def make_grouper(name: str, groupings: str | None, lexicon: str):
    """The MER2024 synonym grouper by name; a local grouper gets the lexicon when it takes one."""
    cls = resolve_target(GROUPERS | _local_groupers(), name, "grouper")
    if name == "cached":
        if not groupings:
            raise InputError("grouper 'cached' needs --groupings ZIP")
        return cls(groupings)
    takes_lexicon = dataclasses.is_dataclass(cls) and "lexicon" in {f.name for f in dataclasses.fields(cls)}
    return cls(lexicon=lexicon) if takes_lexicon else cls()


def _local_groupers() -> dict[str, str]:
    from vocab.registry import GROUPER_TYPES

    return GROUPER_TYPES


def evaluate(config) -> dict:
    gold = read_label_csv(config.gold)
    pred = read_label_sets(config.pred, trust_pickle=config.trust_pickle)
    if not set(gold) & set(pred):
        raise InputError(f"{config.pred}: shares no clip with the gold file {config.gold}")
    result = {"ew": ew_scores(gold, pred, load_lexicon(config.lexicon)).as_dict()}
    grouper_name = config.grouper or ("cached" if config.groupings else None)
    if grouper_name:
        result["mer2024"] = mer2024_scores(gold, pred, make_grouper(grouper_name, config.groupings, config.lexicon)).as_dict()
    return result


def _table(result: dict) -> str:
    ew = result["ew"]
    lines = [f"EW  M-avg {ew['m_avg']:.2f}  L1 F {ew['l1_f']:.2f} (P {ew['l1_p']:.2f}, R {ew['l1_r']:.2f})  L2 F {ew['l2_f']:.2f}"]
    for name, s in ew["per_metric"].items():
        lines.append(f"    {name:6s} P {s['p']:6.2f}  R {s['r']:6.2f}  F {s['f']:6.2f}  ({s['n_clips']} clips)")
    if "mer2024" in result:
        m = result["mer2024"]
        lines.append(f"MER2024  Accuracy_s {m['accuracy']:.6f}  Recall_s {m['recall']:.6f}  Avg {m['avg']:.6f}")
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
