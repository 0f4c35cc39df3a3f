"""One factory for every configurable part: member, vocabulary, judge, extractor, grouper.

A spec is a mapping: `type` names the class (core.registry), every other key is a constructor
parameter. Shared settings (the run's `lexicon`, `cache_dir`, `data_root`, and whatever else a
caller hands down, such as tuning's `objective`) follow one rule: a part gets a shared setting
when its class declares a parameter of that name and the spec does not set it. A part that
builds parts of its own (a member's extractor) hands its settings down by the same rule.
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Mapping

from core.errors import InputError, brief, quoted
from core.registry import DEFAULT_TYPES, KIND_NAMES, resolve


def parameter_names(cls: type) -> set[str]:
    """The constructor parameters of a class (a dataclass's init fields)."""
    if dataclasses.is_dataclass(cls):
        return {f.name for f in dataclasses.fields(cls) if f.init}
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return set()
    return {
        name for name, p in signature.parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def build(kind: str, spec: Mapping[str, Any] | None, shared: Mapping[str, Any] | None = None, label: str | None = None):
    """The part of `kind` that `spec` describes, with the shared settings its class declares.

    Raises InputError naming the part (`label`, default the kind) for an unknown type or
    parameter and for a parameter value the class refuses.
    """
    params = dict(spec or {})
    type_name = params.pop("type", None) or DEFAULT_TYPES.get(kind)
    what = label or KIND_NAMES[kind]
    if not type_name:
        raise InputError(f"{what}: no type given")
    try:
        cls = resolve(kind, str(type_name))
    except InputError as error:
        raise InputError(f"{what}: {error}" if label else str(error)) from None
    known = parameter_names(cls)
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(f"{what}: unknown parameter {quoted(unknown[0])} (known: {', '.join(sorted(known)) or 'none'})")
    for key, value in (shared or {}).items():
        if key in known and key not in params:
            params[key] = value
    try:
        return cls(**params)
    except (TypeError, ValueError) as error:
        raise InputError(f"{what}: {brief(error)}") from None
