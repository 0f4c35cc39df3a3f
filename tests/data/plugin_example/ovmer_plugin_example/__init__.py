"""Example ovmer-ensemble plug-in (see the README's "Plug-ins" section)."""
