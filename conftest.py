"""Makes the repository root importable for the tests (the packages live at the top level)."""
