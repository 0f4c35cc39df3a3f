"""Member types by name, resolved lazily so that a heavy backend is imported only when used.

A config names a member type (`type: cached`); plug-ins add their own with `register`.
"""
from __future__ import annotations

import importlib

from ensemble.errors import InputError

MEMBER_TYPES: dict[str, str] = {
    "cached": "members.cached:CachedMember",
    "described": "members.extract.member:ExtractingMember",
}


def register(name: str, target: str) -> None:
    """Make `type: name` resolve to `target`, given as 'module:Class'."""
    if ":" not in target:
        raise ValueError(f"member target must be 'module:Class', got {target!r}")
    MEMBER_TYPES[name] = target


def resolve_target(table: dict[str, str], name: str, kind: str) -> type:
    """The class behind a name in `table`, or behind a 'module:Class' given directly."""
    target = table.get(name, name)
    if ":" not in target:
        known = ", ".join(sorted(table))
        raise InputError(f"unknown {kind} type '{name}' (known: {known}; or give 'module:Class')")
    module_name, class_name = target.split(":", 1)
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise InputError(f"{kind} type '{name}': cannot import {target} ({error})") from None


def resolve(name: str) -> type:
    """The member class behind a type name."""
    return resolve_target(MEMBER_TYPES, name, "member")
