#!/usr/bin/env bash
# Sets up everything the project needs on a fresh CPU machine (Debian, Python 3.10+):
# WordNet from Debian's packages, a virtual environment in .venv with the pinned CPU torch,
# the project and its test tools, and nltk's WordNet folder (no nltk.download).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f /usr/share/wordnet/data.noun ] || [ ! -f /usr/share/wordnet/index.sense ]; then
    echo "bootstrap: installing Debian's WordNet (wordnet-base wordnet-sense-index)" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wordnet-base wordnet-sense-index >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# torch first, by its exact CPU pin (pyproject.toml states only a range), so that nothing
# resolves a CUDA build.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
if [ -f vocab/wordnet.py ]; then
    .venv/bin/python -m vocab.wordnet --prepare
fi
echo "bootstrap: ready (.venv)" >&2
