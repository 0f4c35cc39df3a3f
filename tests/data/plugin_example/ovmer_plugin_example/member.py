"""A member that names the emotion words a clip's subtitle contains.

Config: `{name: subtitles, type: keywords, path: SUBTITLES.csv}` with columns `name,text`;
`words` replaces the default word list.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Sequence

from members.base import Clip, Member, MemberOutput

WORDS = ["happy", "sad", "angry", "afraid", "surprised", "calm", "worried", "excited"]


@dataclass(kw_only=True)
class KeywordMember(Member):
    path: str
    words: list[str] = field(default_factory=lambda: list(WORDS))

    def setup(self) -> None:
        with open(self.path, newline="", encoding="utf-8") as handle:
            self._texts = {row["name"]: row["text"] for row in csv.DictReader(handle)}

    def clip_names(self) -> list[str]:
        self.setup()
        return sorted(self._texts)

    def predict(self, clips: Sequence[Clip]) -> dict[str, MemberOutput]:
        if not hasattr(self, "_texts"):
            self.setup()
        outputs = {}
        for clip in clips:
            text = self._texts.get(clip.name)
            if text is None:
                continue  # not covered: the other members judge this clip
            found = set(re.findall(r"[a-z]+", text.lower()))
            outputs[clip.name] = MemberOutput(labels=[word for word in self.words if word in found])
        return outputs
