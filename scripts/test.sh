#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (this is what CI runs).
# Works on a fresh machine with Python 3.11 and pip; as root it also installs Chromium
# (Debian's `chromium` package) for the report tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "Chromium is needed for the report tests: sudo apt-get install chromium" >&2
        exit 1
    fi
fi

python -m pip install --quiet --disable-pip-version-check -e '.[test]'
python -m ruff check .
python -m ruff format --check .
python -m pytest "$@"
