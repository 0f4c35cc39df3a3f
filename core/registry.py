"""Every configurable part by kind and name, as 'module:Class' strings resolved on demand.

A config names a part in one of three ways, looked up in this order:

1. a registered name (`type: cached`): the tables below, extended by `register`;
2. an installed plug-in: a package that declares an entry point in the group of the kind
   (`ovmer_ensemble.members`, `.judges`, `.vocabs`, `.extractors`, `.groupers`), whose value
   is 'module:Class'. A table name wins over a plug-in of the same name (with a warning);
3. 'module:Class' given directly.

A config naming 'module:Class' carries the trust of code: importing a module runs it. So
before anything is imported, a target in the Python standard library (`os:system`,
`subprocess:Popen`, `builtins:eval`), a `__main__` module (`tqdm.__main__:X`: importing a
package's `__main__` runs its command line) or any other dunder module, and one that is not a
dotted name are refused; after the
import, the attribute must be a class deriving from the kind's base (BASES) before anything
calls it. The kernel never imports the layers above it, not even to check: the base is taken
from `sys.modules`, where importing a subclass has necessarily put it (a module that never
imported the base cannot define a subclass of it).
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import sys

from core.errors import InputError, quoted

log = logging.getLogger(__name__)

TYPES: dict[str, dict[str, str]] = {
    "member": {
        "cached": "members.cached:CachedMember",
        "described": "members.extract.member:ExtractingMember",
        "extracted": "members.extract.member:ExtractingMember",
        "affectgpt": "members.live.affectgpt:AffectGPTMember",
        "openai": "members.live.openai:OpenAIMember",
        "vlm": "members.live.vlm:VisionLanguageMember",
        "emotion_qwen": "members.live.vlm:EmotionQwenMember",
        "qwen_vl": "members.live.vlm:QwenVLMember",
        "internvl": "members.live.vlm:InternVLMember",
    },
    "vocab": {
        "lexicon": "vocab.clusters:LexiconVocabulary",
        "wordnet": "vocab.semantic:WordNetVocabulary",
        "embedding": "vocab.semantic:EmbeddingVocabulary",
        "full": "vocab.semantic:EmbeddingVocabulary",
    },
    "judge": {
        "kofn": "judge.vote:KOfNVote",
        "category": "judge.category:CategoryJudge",
    },
    "extractor": {
        "rules": "members.extract.rules:RuleExtractor",
        "learned": "members.extract.learned:LearnedExtractor",
        "llm": "members.extract.llm:LLMExtractor",
    },
    # MER2024 synonym groupers (`evaluate --grouper`).
    "grouper": {
        "identity": "core.metrics.mer2024:IdentityGrouper",
        "cached": "core.metrics.mer2024:ZipGrouper",
        "local": "vocab.grouper:LocalGrouper",
    },
}

# The class every part of a kind derives from; strings, so the kernel imports none of them.
BASES: dict[str, str] = {
    "member": "members.base:Member",
    "vocab": "vocab.base:Vocabulary",
    "judge": "judge.base:Judge",
    "extractor": "members.extract.base:Extractor",
    "grouper": "core.metrics.mer2024:Grouper",
}

# The entry-point group a plug-in package declares its parts of each kind in.
PLUGIN_GROUPS: dict[str, str] = {
    "member": "ovmer_ensemble.members",
    "vocab": "ovmer_ensemble.vocabs",
    "judge": "ovmer_ensemble.judges",
    "extractor": "ovmer_ensemble.extractors",
    "grouper": "ovmer_ensemble.groupers",
}

# The type a spec without `type:` gets.
DEFAULT_TYPES: dict[str, str] = {"member": "cached", "vocab": "lexicon", "judge": "category", "extractor": "rules"}

# How error messages name each kind.
KIND_NAMES: dict[str, str] = {
    "member": "member", "vocab": "vocabulary", "judge": "judge", "extractor": "extractor", "grouper": "grouper",
}

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Standard-library modules are never parts; `sys.stdlib_module_names` exists from Python 3.10.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names) | {"builtins"}
_warned_clashes: set[tuple[str, str]] = set()


def _table(kind: str) -> dict[str, str]:
    if kind not in TYPES:
        raise ValueError(f"unknown kind of part {kind!r} (known: {', '.join(TYPES)})")
    return TYPES[kind]


def register(kind: str, name: str, target: str) -> None:
    """Make `type: name` of this kind resolve to `target`, given as 'module:Class'."""
    if ":" not in target:
        raise ValueError(f"{kind} target must be 'module:Class', got {target!r}")
    _table(kind)[name] = target


def names(kind: str) -> list[str]:
    """The registered names of one kind (not the plug-ins), sorted."""
    return sorted(_table(kind))


@functools.cache
def plugins(kind: str) -> dict[str, str]:
    """Installed plug-ins of one kind: name -> 'module:Class', from the kind's entry-point group.

    Read once per process (the metadata of installed packages, no plug-in is imported here);
    `plugins.cache_clear()` reads them again. Two packages giving one name: the first in
    sorted order of their values wins, with a warning.
    """
    found: dict[str, str] = {}
    points = sorted(importlib.metadata.entry_points(group=PLUGIN_GROUPS[kind]), key=lambda p: (p.name, p.value))
    for point in points:
        value = point.value.split("[", 1)[0].strip()  # drop extras: 'pkg.mod:Class [gpu]'
        if point.name in found and found[point.name] != value:
            log.warning("%s plug-in '%s' is declared twice (%s, %s): using %s",
                        KIND_NAMES[kind], point.name, found[point.name], value, found[point.name])
            continue
        found[point.name] = value
    return found


def plugin_names(kind: str) -> list[str]:
    """The names installed plug-ins give parts of one kind, sorted."""
    _table(kind)
    return sorted(plugins(kind))


def _target(kind: str, name: str) -> tuple[str, bool]:
    """(the 'module:Class' a type name stands for, whether it came from a table or plug-in)."""
    table = _table(kind)
    installed = plugins(kind)
    if name in table:
        if name in installed and installed[name] != table[name] and (kind, name) not in _warned_clashes:
            _warned_clashes.add((kind, name))
            log.warning("%s plug-in '%s' (%s) is shadowed by the built-in type of that name (%s)",
                        KIND_NAMES[kind], name, installed[name], table[name])
        return table[name], True
    if name in installed:
        return installed[name], True
    return name, False


def check_target(kind: str, target: str, label: str | None = None) -> tuple[str, str]:
    """(module, class name) of a 'module:Class' target that may be imported; InputError otherwise.

    Nothing is imported here: a name that is not dotted identifiers, a standard-library
    module, and a module that cannot be found are refused before any code of theirs runs.
    """
    label = label or f"{KIND_NAMES[kind]} type {quoted(target)}"
    module_name, _, class_name = target.partition(":")
    module_name, class_name = module_name.strip(), class_name.strip()
    if not _DOTTED.fullmatch(module_name) or not _IDENTIFIER.fullmatch(class_name):
        raise InputError(f"{label}: not a 'module:Class' name")
    top = module_name.split(".", 1)[0]
    program = next((part for part in module_name.split(".") if part.startswith("__") and part.endswith("__")), None)
    if program is not None:
        # A package's __main__ is its command line: importing it runs the program, not a part.
        raise InputError(f"{label}: '{module_name}' is a {program} module (importing it runs a program), not a {KIND_NAMES[kind]}; refused")
    if top in _STDLIB:
        raise InputError(f"{label}: '{top}' is a module of the Python standard library, not a {KIND_NAMES[kind]}; refused")
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise InputError(f"{label}: cannot import {target} (no module named '{top}' is installed)")
    return module_name, class_name


def _base(kind: str) -> type | None:
    """The kind's base class if its module is already imported, else None; never imports it."""
    module_name, class_name = BASES[kind].split(":", 1)
    module = sys.modules.get(module_name)
    base = getattr(module, class_name, None) if module is not None else None
    return base if isinstance(base, type) else None


def resolve(kind: str, name: str) -> type:
    """The class behind a registered name, an installed plug-in, or a 'module:Class' given directly.

    Raises InputError for an unknown name and for any target that is not a class deriving from
    the kind's base; a standard-library target is refused before it is imported.
    """
    table = _table(kind)
    label = KIND_NAMES[kind]
    if not isinstance(name, str):
        raise InputError(f"{label} type must be a name, got {type(name).__name__}")
    target, known = _target(kind, name)
    if ":" not in target:
        listed = ", ".join(sorted(set(table) | set(plugins(kind))))
        raise InputError(f"unknown {label} type {quoted(name)} (known: {listed}; or give 'module:Class')")
    what = f"{label} type {quoted(name)}"
    module_name, class_name = check_target(kind, target, what)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise InputError(f"{what}: cannot import {target} ({error})") from None
    base = _base(kind)
    if not isinstance(cls, type) or base is None or not issubclass(cls, base):
        source = "plug-in or registered type" if known else "type"
        raise InputError(f"{what}: {target} is not a {label} class (a {source} must derive from {BASES[kind]}); refused")
    return cls
