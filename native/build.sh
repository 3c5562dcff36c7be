#!/bin/sh
# Builds the static isolated-helper: build.sh SOURCE_DIR OUTPUT_FILE
# Called by Maven (exec-maven-plugin, compile phase); runnable by hand as well.
set -eu
src=$1
out=$2
if ! command -v gcc >/dev/null 2>&1; then
    echo "isolated-native: gcc not found: install the Debian package 'gcc' (apt-get install gcc)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
exec gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wformat=2 -D_GNU_SOURCE -static \
    -o "$out" "$src"/*.c
