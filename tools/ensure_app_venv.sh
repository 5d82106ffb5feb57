#!/usr/bin/env bash
# Creates .venv-app: an app's environment, with the newest Python here other than 3.10 and the newest
# TensorFlow and Keras that install on it, plus fame-tf's runtime only (no extras: no tf-keras, TFRS
# or TFX). Rebuilt when setup.py changes. Prints the environment's python; exit 3 when no Python
# newer than 3.10 exists here (the app-environment test then skips).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-app
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt setup.py && -x "$VENV/bin/python" ]]; then
  echo "$PWD/$VENV/bin/python"
  exit 0
fi

newest_python() {
  local candidate version best="" best_version=0
  for candidate in "${APP_PYTHON:-}" \
      "$(command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null)"/versions/3.1[1-9]*/bin/python3.1[1-9] \
      "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python3.1[1-9] python3.13 python3.12 python3.11 python3; do
    [[ -n "$candidate" ]] && command -v "$candidate" >/dev/null 2>&1 || continue
    version=$("$candidate" -c 'import sys, venv; print(sys.version_info[0] * 100 + sys.version_info[1])' 2>/dev/null) || continue
    if (( version > 310 && version > best_version )); then
      best=$candidate best_version=$version
    fi
  done
  [[ -n "$best" ]] && echo "$best"
}

if ! PY=$(newest_python); then
  echo "no Python newer than 3.10 found (set APP_PYTHON to one)" >&2
  exit 3
fi
rm -rf "$VENV"
echo "==> creating $VENV with $PY and fame-tf's runtime (newest TensorFlow and Keras; about 2 minutes)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet -e . >&2
touch "$STAMP"
echo "$PWD/$VENV/bin/python"
