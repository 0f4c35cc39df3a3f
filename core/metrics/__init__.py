"""The two official MER-OV metrics: MER2024 set-level scores and OV-MER emotion-wheel scores."""
from core.metrics.ew import EWScores, ew_scores
from core.metrics.mer2024 import IdentityGrouper, Mer2024Scores, ZipGrouper, mer2024_scores

__all__ = ["EWScores", "ew_scores", "IdentityGrouper", "Mer2024Scores", "ZipGrouper", "mer2024_scores"]
