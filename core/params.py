"""scikit-learn's get_params/set_params for the project's dataclass estimators."""
from __future__ import annotations

from dataclasses import fields


class Params:
    """Parameters are the public constructor fields; fitted state ends in '_' and is not one."""

    def get_params(self) -> dict:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.init and not f.name.startswith("_") and not f.name.endswith("_")
        }

    def set_params(self, **params):
        known = self.get_params()
        for key, value in params.items():
            if key not in known:
                raise ValueError(f"{type(self).__name__} has no parameter '{key}'")
            setattr(self, key, value)
        return self
