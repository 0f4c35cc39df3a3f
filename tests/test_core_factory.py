"""core.registry (one table of every part type) and core.factory.build (the one factory), on the
project's real classes; the registry is restored after each test that changes it."""
from __future__ import annotations

import copy
import dataclasses

import pytest

from core import registry
from core.errors import InputError
from core.factory import build, parameter_names
from core.metrics import IdentityGrouper, ZipGrouper
from judge.vote import KOfNVote
from judge.category import CategoryJudge
from members.base import Clip
from members.cached import CachedMember
from members.extract.llm import LLMExtractor
from members.extract.member import ExtractingMember
from members.extract.rules import RuleExtractor
from tests.support import LEXICON, MER2024_GROUPINGS, baseline_file
from vocab.clusters import LexiconVocabulary
from vocab.semantic import WordNetVocabulary

SHARED = {"lexicon": LEXICON, "cache_dir": "/tmp/ovmer-test-cache", "data_root": "/tmp/ovmer-test-data"}


@pytest.fixture()
def fresh_registry(monkeypatch):
    """A copy of the type table for one test, so registrations do not leak into others."""
    monkeypatch.setattr(registry, "TYPES", copy.deepcopy(registry.TYPES))
    return registry


@pytest.mark.parametrize("kind", sorted(registry.TYPES))
def test_every_registered_name_resolves_to_a_class_of_its_kind(kind):
    bases = {
        "member": "members.base:Member", "vocab": "vocab.base:Vocabulary", "judge": "judge.base:Judge",
        "extractor": "members.extract.base:Extractor",
    }
    base = registry.resolve(kind, bases[kind]) if kind in bases else object
    for name in registry.names(kind):
        cls = registry.resolve(kind, name)
        assert isinstance(cls, type) and issubclass(cls, base), (kind, name)
        if kind == "grouper":
            assert callable(getattr(cls, "groups")), name


def test_names_are_sorted_and_complete():
    assert registry.names("judge") == ["category", "kofn"]
    assert {"cached", "described", "extracted"} <= set(registry.names("member"))
    with pytest.raises(ValueError, match="unknown kind of part 'juror'"):
        registry.names("juror")


def test_shared_settings_go_only_to_classes_that_declare_them():
    kofn = build("judge", {"type": "kofn", "k": 2}, SHARED)
    assert kofn == KOfNVote(k=2)  # declares none of them, and is no error
    category = build("judge", {"type": "category"}, SHARED)
    assert isinstance(category, CategoryJudge) and category.lexicon == LEXICON
    vocab = build("vocab", {"type": "wordnet"}, SHARED)
    assert isinstance(vocab, WordNetVocabulary) and (vocab.lexicon, vocab.cache_dir) == (LEXICON, SHARED["cache_dir"])
    assert build("vocab", None, SHARED) == LexiconVocabulary(lexicon=LEXICON)  # the default type
    cached = build("member", {"name": "m", "path": str(baseline_file("Otter"))}, SHARED)
    assert type(cached) is CachedMember and not hasattr(cached, "lexicon")
    llm = build("extractor", {"type": "llm", "url": "http://127.0.0.1:9"}, SHARED)
    assert isinstance(llm, LLMExtractor) and llm.cache_dir == SHARED["cache_dir"]
    assert build("extractor", {}, SHARED) == RuleExtractor(lexicon=LEXICON)  # rules is the default extractor
    assert isinstance(build("grouper", {"type": "identity"}, SHARED), IdentityGrouper)


def test_a_member_hands_its_settings_down_to_the_extractor_it_builds(tmp_path):
    source = tmp_path / "d.jsonl"
    source.write_text('{"name": "a", "description": "In conclusion, she is relaxed and happy."}\n')
    member = build("member", {"name": "m", "type": "described", "path": str(source)}, SHARED)
    assert isinstance(member, ExtractingMember) and member.lexicon == LEXICON and member.cache_dir == SHARED["cache_dir"]
    assert member.predict([Clip("a")])["a"].labels == ["relaxed", "happy"]  # the rules extractor found the lexicon


def test_the_spec_wins_over_a_shared_setting():
    assert build("judge", {"type": "category", "lexicon": "/my/lexicon"}, SHARED).lexicon == "/my/lexicon"
    assert build("judge", {"type": "kofn", "k": 5}, {"k": 1}).k == 5
    assert build("judge", {"type": "kofn"}, {"k": 1}).k == 1  # a shared setting the class declares


def test_spec_is_not_changed():
    spec = {"type": "category", "C": 2.0}
    build("judge", spec, SHARED)
    assert spec == {"type": "category", "C": 2.0}


def test_unknown_type_and_parameter_are_input_errors_naming_the_part():
    with pytest.raises(InputError, match=r"unknown judge type 'vote' \(known: category, kofn; or give 'module:Class'\)"):
        build("judge", {"type": "vote"})
    with pytest.raises(InputError, match=r"member 'm': unknown parameter 'colour' \(known: batch_size, name, path, strict, trust_pickle\)"):
        build("member", {"name": "m", "colour": "red"}, label="member 'm'")
    with pytest.raises(InputError, match=r"^judge: unknown parameter 'kk'"):
        build("judge", {"type": "kofn", "kk": 1})
    with pytest.raises(InputError, match=r"^grouper: no type given"):
        build("grouper", {})
    with pytest.raises(InputError, match=r"^grouper: unknown parameter 'x' \(known: none\)"):
        build("grouper", {"type": "identity", "x": 1})
    # Fitted state and private fields are not parameters.
    with pytest.raises(InputError, match="unknown parameter '_cache'"):
        build("grouper", {"type": "cached", "_cache": {}})
    with pytest.raises(InputError, match="unknown parameter 'lexicon_'"):
        build("vocab", {"lexicon_": None})


def test_a_refused_value_is_an_input_error_naming_the_part():
    with pytest.raises(InputError, match=r"^member 'm': .*name"):
        build("member", {"path": "x"}, label="member 'm'")  # the required `name` is missing


def test_module_class_targets_resolve_directly():
    assert build("judge", {"type": "judge.vote:KOfNVote", "k": 2}) == KOfNVote(k=2)
    grouper = build("grouper", {"type": "core.metrics.mer2024:ZipGrouper", "groupings": str(MER2024_GROUPINGS)})
    assert isinstance(grouper, ZipGrouper) and len(grouper.clips()) > 100
    assert ZipGrouper(str(MER2024_GROUPINGS)).groupings == str(MER2024_GROUPINGS)  # positional still works
    with pytest.raises(InputError, match=r"judge type 'nope\.mod:X': cannot import nope\.mod:X"):
        build("judge", {"type": "nope.mod:X"})
    with pytest.raises(InputError, match="cannot import judge.vote:Nope"):
        build("judge", {"type": "judge.vote:Nope"})


def test_register_adds_a_name_that_the_factory_builds(fresh_registry):
    fresh_registry.register("judge", "unanimous", "judge.vote:KOfNVote")
    assert "unanimous" in fresh_registry.names("judge")
    assert fresh_registry.resolve("judge", "unanimous") is KOfNVote
    assert build("judge", {"type": "unanimous", "k": 11}) == KOfNVote(k=11)
    fresh_registry.register("member", "cached", "members.extract.member:ExtractingMember")  # a plug-in may replace a name
    assert fresh_registry.resolve("member", "cached") is ExtractingMember
    with pytest.raises(ValueError, match="target must be 'module:Class'"):
        fresh_registry.register("judge", "bad", "judge.vote.KOfNVote")
    with pytest.raises(ValueError, match="unknown kind of part 'juror'"):
        fresh_registry.register("juror", "x", "judge.vote:KOfNVote")


def test_registration_does_not_leak_between_tests():
    assert "unanimous" not in registry.names("judge")
    assert registry.resolve("member", "cached") is CachedMember


def test_parameter_names_of_dataclasses_and_plain_classes():
    assert parameter_names(KOfNVote) == {"k", "min_labels", "max_labels"}
    assert "lexicon_" not in parameter_names(LexiconVocabulary) and "lexicon" in parameter_names(LexiconVocabulary)
    assert parameter_names(IdentityGrouper) == set()

    class Plain:
        def __init__(self, a, *args, b=1, **kwargs):
            self.a, self.b = a, b

    assert parameter_names(Plain) == {"a", "b"}
    assert dataclasses.is_dataclass(ZipGrouper)


def test_unknown_type_names_the_labelled_part():
    with pytest.raises(InputError, match="member 'Otter'"):
        build("member", {"name": "Otter", "type": "nope"}, label="member 'Otter'")
