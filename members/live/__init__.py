"""Live members: models that run on a clip's media (frames, audio, subtitle)."""
