"""The category judge's saved state: a schema with ranges, checked before anything is used.

core.state bounds the file's size and nesting depth before parsing it and refuses NaN; this
schema then checks every field: probabilities in [0, 1], counts >= 0, weights > 0, lists of
matching lengths, kept views among the views fitted on. A state that fails is one
`FILE: KEY: what is wrong` error.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InputError, brief

Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, strict=True)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogisticState(_Strict):
    C: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    standardize: bool = True
    soft_targets: bool = False
    max_iter: Annotated[int, Field(ge=1)] = 2000
    coef: list[Finite]
    intercept: Finite
    mean: list[Finite] | None = None
    scale: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _lengths(self):
        if self.standardize and (self.mean is None or self.scale is None):
            raise ValueError("a standardised model needs mean and scale")
        for name in ("mean", "scale"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.coef):
                raise ValueError(f"{name} has {len(values)} values for {len(self.coef)} coefficients")
        return self


class RatesState(_Strict):
    overall: Probability
    member: dict[Name, Probability]
    member_counts: dict[Name, Count]
    cluster_hits: dict[Name, Annotated[float, Field(ge=0, allow_inf_nan=False)]]
    cluster_counts: dict[Name, Count]
    strength: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class FittedClips(_Strict):
    count: Count
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class CategoryState(_Strict):
    params: dict[str, Any]
    threshold: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
    gamma: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    size_prior: Annotated[list[Probability], Field(min_length=1, max_length=1000)] | None
    view_members: Annotated[list[Name], Field(min_length=1)]
    models_of_views: dict[Name, Name]
    members: list[Name]
    mappings: Annotated[list[Name], Field(min_length=1)]
    features: list[Name]
    rates: RatesState
    unproposed: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]]
    model: LogisticState
    fitted_clips: FittedClips

    @model_validator(mode="after")
    def _consistent(self):
        from judge.evidence import feature_names

        missing = sorted(set(self.models_of_views) - set(self.view_members))
        if missing:
            raise ValueError(f"models_of_views: kept view '{missing[0]}' is not among view_members")
        if not self.models_of_views:
            raise ValueError("models_of_views: keeps no view")
        if self.members != sorted(set(self.models_of_views.values())):
            raise ValueError("members: must be the sorted models of the kept views")
        if len(self.unproposed) != len(self.mappings):
            raise ValueError(f"unproposed: {len(self.unproposed)} values for {len(self.mappings)} mappings")
        if self.features != feature_names(self.members, self.mappings):
            raise ValueError("features: do not match members and mappings")
        if len(self.model.coef) != len(self.features):
            raise ValueError(f"model.coef: {len(self.model.coef)} coefficients for {len(self.features)} features")
        return self


def _key(location: Sequence) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_state(path: str | Path, body: dict) -> CategoryState:
    """The validated state, or one InputError `path: key: what is wrong`."""
    try:
        return CategoryState.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        message, key = first["msg"].removeprefix("Value error, "), _key(first["loc"])
        raise InputError(f"{path}: {key + ': ' if key else ''}{brief(message, 160)}") from None


def clips_digest(clips: Sequence[str]) -> dict:
    """What a state records of the clips it was fitted on: their number and a digest of their names."""
    names = sorted(set(clips))
    return {"count": len(names), "digest": hashlib.sha256("\n".join(names).encode()).hexdigest()}
