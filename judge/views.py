"""Views of one model: judges that treat several outputs of one model as evidence about it.

A member may be one *view* of a model: a prompt setting of an OV-MER baseline, an AffectGPT
checkpoint, labels extracted from its description. Views of one model are correlated; voting
them as independent members over-counts a model with many views and lets weak views add noise.
These judges first fold each clip's ballot into a *model ballot*:

1. view selection (`views_per_model`): on the training clips only, each view is scored alone
   (EW metric of its own labels); each model keeps its best n views;
2. pooling: a model votes for a cluster when at least `quorum` of its views present on the
   clip do (quorum 0: any of them), and the share of its views that do is kept as evidence;
3. the learned judge (category or stacker) then sees one voter per model, with `shares=True`
   the share of each model's views as its vote feature instead of a 0/1 vote; member
   reliabilities, priors and the threshold are learned on the model ballots.

Which model a member belongs to comes from `models` ({member: model}; the pipeline hands down
each member's `model:` config key); a member it does not name is a model of its own.
The fitted state records every view it was fitted with: a member list that does not match it
is an error asking for `tune` again.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from judge.category import BATCH_CLIPS, CategoryCandidates, CategoryJudge, _member_categories
from judge.category_batch import Flat, flatten
from judge.fastscore import FastScorer, WordMaps
from judge.features import ClusterView
from judge.objective import Objective
from judge.scored import ScoredJudge
from judge.stacker import Stacker
from vocab.ballot import ClipBallot

Gold = Mapping[str, Sequence[str]]


@dataclass
class ModelBallot(ClipBallot):
    """A ballot whose voters are models; `shares[cluster][model]`: the share of the model's
    views (present on the clip) naming the cluster; `source`: the view ballot it came from."""

    shares: dict[str, dict[str, float]] = field(default_factory=dict)
    views: dict[str, list[str]] = field(default_factory=dict)  # model -> its views present
    source: ClipBallot | None = None
    # Whose counts pick a cluster's emitted word: "models" (each model once) or "views" (every view).
    words_by: str = "models"

    def surface_word(self, cluster: str) -> str:
        if self.words_by == "views" and self.source is not None:
            return self.source.surface_word(cluster)
        return super().surface_word(cluster)


def pool_views(ballot: ClipBallot, model_of: Mapping[str, str], keep: set[str] | None, quorum: float,
               words_by: str = "models") -> ModelBallot:
    """The model ballot of one clip: views outside `keep` dropped, each model's views pooled."""
    present = [m for m in ballot.members if keep is None or m in keep]
    source = ballot if len(present) == len(ballot.members) else ballot.without([m for m in ballot.members if m not in present])
    views: dict[str, list[str]] = {}
    for member in present:
        views.setdefault(model_of.get(member, member), []).append(member)
    n_labels = source.n_labels
    member_rank = {m: i for i, m in enumerate(present)}
    model_rank = {model: i for i, model in enumerate(views)}
    votes: dict[str, dict[str, list[str]]] = {}
    shares: dict[str, dict[str, float]] = {}
    firsts: list[int] = []  # each (cluster, model) pair's first position, in the order of votes
    position = iter(source.firsts)  # each (cluster, member) pair's, in the order of votes
    for cluster, by_member in source.votes.items():
        # This cluster's voters grouped by model: (rank among the present views, view, its first position).
        grouped: dict[str, list[tuple[int, str, int]]] = {}
        for member in by_member:
            first = next(position, 0)
            if member in member_rank:
                grouped.setdefault(model_of.get(member, member), []).append((member_rank[member], member, first))
        for model in sorted(grouped, key=model_rank.__getitem__):
            voters = sorted(grouped[model])
            share = len(voters) / len(views[model])
            if share + 1e-9 < quorum:
                continue
            votes.setdefault(cluster, {})[model] = [w for _, m, _ in voters for w in by_member[m]]
            shares.setdefault(cluster, {})[model] = share
            firsts.append(min(first for _, _, first in voters))
    counts = tuple(round(sum(n_labels.get(m, 0) for m in names) / len(names)) for names in views.values())
    return ModelBallot(clip=ballot.clip, members=list(views), votes=votes, counts=counts, firsts=tuple(firsts),
                       shares=shares, views=views, source=source, words_by=words_by)


def member_words(ballots: Sequence[ClipBallot], member: str) -> dict[str, list[str]]:
    """What one member said on each clip (its words, across clusters)."""
    return {
        b.clip: [w for by_member in b.votes.values() for w in by_member.get(member, [])]
        for b in ballots
    }


def select_views(ballots: Sequence[ClipBallot], gold: Gold, model_of: Mapping[str, str], maps: WordMaps,
                 per_model: int, objective: Objective, margin: float = 0.0) -> set[str]:
    """Each model's best `per_model` views by their own score on the training clips (0: all);
    with `margin` > 0, only those within `margin` points of the model's best view."""
    members = sorted({m for b in ballots for m in b.members})
    if not per_model and not margin:
        return set(members)
    clips = [b.clip for b in ballots if b.clip in gold]
    scorer = FastScorer(maps.lexicon, {c: gold[c] for c in clips}, maps)
    by_model: dict[str, list[tuple[float, str]]] = {}
    for member in members:
        answered = [b for b in ballots if b.clip in gold and member in b.members]
        said = member_words(answered, member)
        value = objective.value(scorer([b.clip for b in answered], said)) if answered else -1e9
        by_model.setdefault(model_of.get(member, member), []).append((-value, member))
    kept = set()
    for ranked in by_model.values():
        ranked = sorted(ranked)[: per_model or None]
        kept.update(m for value, m in ranked if not margin or -value >= -ranked[0][0] - margin)
    return kept


@dataclass
class _ViewsFields:
    # member -> model; the pipeline hands it down from each member's `model:` key.
    models: dict[str, str] | None = None
    # A model votes for a cluster when at least this share of its views on the clip do (0: any).
    quorum: float = 0.0
    # Keep each model's best n views, chosen on the training clips (0: every view).
    views_per_model: int = 0
    # With views_per_model or alone: keep only views within this many points of the model's best view (0: off).
    view_margin: float = 0.0
    # Vote features: the share of a model's views naming the candidate (True) or 0/1 (False).
    shares: bool = True
    # The emitted word of a cluster: the one most models used ("models") or most views ("views").
    words_by: str = "models"


class ViewsMixin:
    """Pools views into models before a ScoredJudge sees the ballots (see the module docstring).

    Listed before the judge class it extends (`class ViewX(_ViewsFields, ViewsMixin, X)`), so
    its _check_params, _state and _load add to X's through super()."""

    def _check_params(self) -> None:
        super()._check_params()
        q = self.quorum
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1:
            raise InputError(f"judge '{self.kind}': quorum must be a number in [0, 1], got {q!r}")
        n = self.views_per_model
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InputError(f"judge '{self.kind}': views_per_model must be an integer >= 0, got {n!r}")
        m = self.view_margin
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not m >= 0:
            raise InputError(f"judge '{self.kind}': view_margin must be a number >= 0, got {m!r}")
        if self.words_by not in ("models", "views"):
            raise InputError(f"judge '{self.kind}': words_by must be models or views, got {self.words_by!r}")
        if self.models is not None and not isinstance(self.models, Mapping):
            raise InputError(f"judge '{self.kind}': models must map member names to model names")

    def _model_of(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.models or {}).items()}

    def pool(self, ballot: ClipBallot) -> ModelBallot:
        if isinstance(ballot, ModelBallot):
            return ballot
        return pool_views(ballot, self.model_of_, self.kept_views_, self.quorum, self.words_by)

    def fit(self, ballots: Sequence[ClipBallot], gold: Gold | None = None):
        if gold is None:
            return ScoredJudge.fit(self, ballots, None)
        self._check_params()
        self.model_of_ = self._model_of()
        self.view_members_ = sorted({m for b in ballots for m in b.members})
        maps = WordMaps(self._lexicon())
        self.kept_views_ = select_views(
            [b for b in ballots if b.clip in gold], gold, self.model_of_, maps, self.views_per_model,
            self._calibration_objective(), self.view_margin,
        )
        return ScoredJudge.fit(self, [self.pool(b) for b in ballots], gold)

    # ---- members must match the fitted state ---------------------------------------------
    def _ensure_state(self) -> None:
        if self.needs_fit and self.state:
            self.load_state(self.state)

    def check_members(self, n_members: int) -> None:
        self._ensure_state()
        if not self.needs_fit and n_members and n_members != len(self.view_members_):
            raise InputError(
                f"judge '{self.kind}': fitted on {len(self.view_members_)} members ({self._where()}), "
                f"the config has {n_members}: the member list changed, run `tune` again"
            )

    def _check_ballot_members(self, ballots: Sequence[ClipBallot]) -> None:
        known = set(self.view_members_)
        for ballot in ballots:
            unknown = [m for m in ballot.members if m not in known]
            if unknown:
                raise InputError(
                    f"judge '{self.kind}': member '{unknown[0]}' is not among the members it was fitted on "
                    f"({self._where()}): the member list changed, run `tune` again"
                )

    def _where(self) -> str:
        return f"state {self.state}" if self.state else "in this run"

    # ---- prediction on model ballots -------------------------------------------------------
    def keep(self, ballot: ClipBallot) -> list[str]:
        return ScoredJudge.keep(self, self.pool(ballot))

    def predict(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        self._ensure_state()
        if self.needs_fit:
            raise InputError(f"judge '{self.kind}' is not fitted: fit it on gold or name a state file")
        self._check_ballot_members(ballots)
        return self._predict_pooled(ballots)

    def _predict_pooled(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        """Clip by clip: each ballot pooled, then the judge's keep on the model ballot."""
        out = {}
        for ballot in ballots:
            pooled = self.pool(ballot)
            words = [pooled.surface_word(c) for c in ScoredJudge.keep(self, pooled)]
            out[ballot.clip] = list(dict.fromkeys(words))
        return out

    def cluster_scores(self, ballot: ClipBallot) -> dict[str, float]:
        return ScoredJudge.cluster_scores(self, self.pool(ballot))

    # ---- state -----------------------------------------------------------------------------
    def _state(self) -> dict:
        return {**super()._state(), "view_members": self.view_members_, "models_of_views": self.model_of_,
                "kept_views": sorted(self.kept_views_)}

    def _load(self, data: Mapping) -> None:
        super()._load(data)
        self.view_members_ = [str(m) for m in data["view_members"]]
        self.model_of_ = {str(k): str(v) for k, v in dict(data["models_of_views"]).items()}
        self.kept_views_ = {str(m) for m in data["kept_views"]}
        configured = self._model_of()
        changed = sorted(m for m, model in configured.items() if self.model_of_.get(m, m) != model)
        if changed:
            raise InputError(f"judge '{self.kind}': state {self.state} groups member '{changed[0]}' under another model "
                             "than the config does: run `tune` again")


def share_matrix(ballot: ModelBallot, clusters: Sequence[str], models: Sequence[str]) -> np.ndarray:
    """(n_clusters, n_models): the share of each model's views naming each cluster."""
    return np.array([[ballot.shares.get(c, {}).get(m, 0.0) for m in models] for c in clusters]).reshape(len(clusters), len(models))


@dataclass
class ViewStacker(_ViewsFields, ViewsMixin, Stacker):
    """The stacker (judge/stacker.py) on model ballots."""

    kind = "view_stacker"

    def _features(self, v: ClusterView, own: np.ndarray | None = None) -> np.ndarray:
        X = Stacker._features(self, v, own)
        if self.shares and isinstance(v.ballot, ModelBallot) and len(v.clusters):
            X[:, : len(self.members_)] = share_matrix(v.ballot, v.clusters, self.members_)
        return X


@dataclass
class ViewCategory(_ViewsFields, ViewsMixin, CategoryJudge):
    """The category judge (judge/category.py) on model ballots."""

    kind = "view_category"

    # The batched paths (judge/category_batch.py) run on the model ballots, with the share-of-views
    # features added by batch_features. Words chosen by views' counts come from the source
    # ballots, which the batch does not read: that setting is judged clip by clip.
    @property
    def batched(self) -> bool:
        return self.words_by == "models"

    def batch_features(self, flat: Flat, ballots: Sequence[ClipBallot], own: np.ndarray | None = None) -> np.ndarray:
        """CategoryJudge's features of the model ballots, each model's 0/1 vote replaced by the
        share of its views (present on the clip) that named the candidate, as _candidates does."""
        X = CategoryJudge.batch_features(self, flat, ballots, own)
        if not self.shares or not len(X) or not all(isinstance(b, ModelBallot) and b.source is not None for b in ballots):
            return X
        views = flatten(self, [b.source for b in ballots])  # one row per (clip, candidate, view naming it)
        column = {m: j for j, m in enumerate(self.members_)}
        model_of = self.model_of_
        view_column = np.array([column.get(model_of.get(name, name), -1) for name in views.names], dtype=np.int64)
        # A view's candidate as a candidate of the model ballots: the same (clip, mapping, category).
        key_of = {pair: k for k, pair in enumerate(flat.pairs)}
        to_model_key = np.array([key_of.get(pair, -1) for pair in views.pairs], dtype=np.int64)
        n_keys = max(len(flat.pairs), 1)
        v_clip, v_key = views.cand_clip[views.v_cand], to_model_key[views.cand_key[views.v_cand]]
        v_column = view_column[views.v_member]
        code = flat.cand_clip * n_keys + flat.cand_key  # sorted
        wanted = v_clip * n_keys + np.maximum(v_key, 0)
        at = np.searchsorted(code, wanted).clip(max=max(len(code) - 1, 0))
        keep = (v_key >= 0) & (v_column >= 0) & (code[at] == wanted)
        counts = np.zeros((len(code), len(self.members_)))
        np.add.at(counts, (at[keep], v_column[keep]), 1.0)
        # Views per model on each clip (models absent from a clip count nothing there).
        n_views = np.ones((flat.n_clips, len(self.members_)))
        for c, ballot in enumerate(ballots):
            for model, names in ballot.views.items():
                if model in column:
                    n_views[c, column[model]] = len(names)
        X[:, : len(self.members_)] = counts / n_views[flat.cand_clip]
        return X

    def _predict_pooled(self, ballots: Sequence[ClipBallot]) -> dict[str, list[str]]:
        if not self.batched or self.utility == "linear":
            return ViewsMixin._predict_pooled(self, ballots)
        answers: dict[str, list[str]] = {}
        for start in range(0, len(ballots), BATCH_CLIPS):  # model ballots of one batch at a time: less memory
            answers.update(CategoryJudge.predict(self, [self.pool(b) for b in ballots[start: start + BATCH_CLIPS]]))
        return answers

    def _candidates(self, v: ClusterView, train_gold: list[set] | None = None) -> CategoryCandidates:
        cands = super()._candidates(v, train_gold)
        ballot = v.ballot
        if not self.shares or not isinstance(ballot, ModelBallot) or not cands.keys:
            return cands
        # Share of each model's views that named the candidate category.
        per_view = _member_categories(ClusterView(ballot.source, [], [], []), self.word_maps_, self.indices_)
        column = {m: j for j, m in enumerate(self.members_)}
        row_of = {key: row for row, key in enumerate(cands.keys)}
        # Counted over what each view named (a few words), not over every candidate and view.
        for model, names in ballot.views.items():
            if model not in column:
                continue
            counts = np.zeros(len(cands.keys))
            for m in names:
                for i, cats in per_view[m].items():
                    for cat in cats:
                        row = row_of.get((i, cat))  # None: below the quorum of every model
                        if row is not None:
                            counts[row] += 1
            cands.features[:, column[model]] = counts / len(names)
        return cands
