#!/bin/sh
# Builds the isolated-helper, or one of its test builds:
#   build.sh ARCH SOURCE_DIR OUTPUT_FILE
#       the static helper for ARCH (x86_64 or aarch64). Called by Maven (exec-maven-plugin, compile phase, once
#       per architecture); runnable by hand as well. The compiler is ARCH-linux-gnu-gcc (Debian's cross
#       compilers, and on Debian the native gcc under that name too), else plain gcc when ARCH is this machine's.
#   build.sh sanitized SOURCE_DIR OUTPUT_FILE
#       this machine's helper with AddressSanitizer and UndefinedBehaviorSanitizer (linked dynamically: the
#       sanitizer runtimes come as shared libraries with gcc), every report fatal. .ci/run runs the helper's
#       Java tests against it (-Disolated.helper.path); see src/test/c/sanitizer-options.c for its settings.
#   build.sh unit-tests SOURCE_DIR TEST_DIR OUTPUT_FILE
#       the C unit tests of the parsers (TEST_DIR/*.c, linked with SOURCE_DIR/*.c but main.c), built with both
#       sanitizers and run; exits non-zero when one fails. Called by Maven in the test phase (skipped with
#       -DskipTests).
#   build.sh unit-tests-for ARCH SOURCE_DIR TEST_DIR OUTPUT_FILE
#       the same C unit tests, static for ARCH (x86_64 or aarch64) and without the sanitizers, built but not run:
#       Arm64HelperVmTests runs the aarch64 ones in its arm64 VM (seccomp's aarch64 numbers, the keyring
#       exception's aarch64 instruction address).
# Every build uses the warnings bubblewrap builds with (its meson.build: warning level 2, i.e. -Wall -Wextra,
# and the set it shares with ostree), each an error.
set -eu
warnings="-Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wformat-nonliteral -Wshadow -Wempty-body
    -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations -Wimplicit-function-declaration
    -Wpointer-arith -Winit-self -Wreturn-type -Woverflow -Wint-conversion -Wparentheses
    -Wincompatible-pointer-types -Wmisleading-indentation -Wmissing-include-dirs -Waggregate-return
    -Wswitch-default -Wswitch-enum -Wno-missing-field-initializers"
sanitizers="-O2 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

mode=$1
case "$mode" in
    sanitized|unit-tests) arch=$(uname -m) ;;
    unit-tests-for) arch=$2; shift ;;
    *) arch=$mode ;;
esac
case "$arch" in
    x86_64) packages="gcc-x86-64-linux-gnu libc6-dev-amd64-cross" ;;
    aarch64) packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
    *) echo "isolated-native: no helper for architecture '$arch' (x86_64 and aarch64 are built)" >&2; exit 1 ;;
esac
if [ "$arch" = "$(uname -m)" ]; then
    packages="gcc libc6-dev"
fi
cc=
for candidate in "$arch-linux-gnu-gcc" gcc; do
    if command -v "$candidate" >/dev/null 2>&1 && [ "$("$candidate" -dumpmachine 2>/dev/null)" = "$arch-linux-gnu" ]; then
        cc=$candidate
        break
    fi
done
if [ -z "$cc" ]; then
    echo "isolated-native: no C compiler for $arch found ($arch-linux-gnu-gcc, or gcc on an $arch machine):" \
         "install the Debian packages '$packages' (apt-get install $packages)" >&2
    exit 1
fi

case "$mode" in
    sanitized)
        src=$2
        out=$3
        mkdir -p "$(dirname "$out")"
        reports=$(cd "$(dirname "$out")" && pwd)/reports
        rm -rf "$reports"
        mkdir -m 1777 "$reports" # the rootless tests' helpers (uid 65534) report there too
        # shellcheck disable=SC2086 # the flag lists are split on purpose
        "$cc" -std=gnu11 $warnings $sanitizers -D_GNU_SOURCE -DSANITIZER_REPORTS="\"$reports/report\"" \
            -o "$out" "$src"/*.c "$(dirname "$0")/src/test/c/sanitizer-options.c"
        ;;
    unit-tests)
        src=$2
        tests=$3
        out=$4
        mkdir -p "$(dirname "$out")"
        # main.c has the helper's main(); the tests have their own.
        # shellcheck disable=SC2086
        "$cc" -std=gnu11 $warnings $sanitizers -D_GNU_SOURCE -I"$src" \
            -o "$out" $(ls "$src"/*.c | grep -v '/main\.c$') "$tests"/*.c
        "$out"
        ;;
    unit-tests-for)
        src=$2
        tests=$3
        out=$4
        mkdir -p "$(dirname "$out")"
        # shellcheck disable=SC2086
        "$cc" -std=gnu11 -O2 $warnings -D_GNU_SOURCE -static -I"$src" \
            -o "$out" $(ls "$src"/*.c | grep -v '/main\.c$') "$tests"/*.c
        ;;
    *)
        src=$2
        out=$3
        if [ "$("$cc" -print-file-name=libc.a)" = libc.a ]; then
            echo "isolated-native: $cc has no static C library (libc.a) for $arch:" \
                 "install the Debian packages '$packages' (apt-get install $packages)" >&2
            exit 1
        fi
        mkdir -p "$(dirname "$out")"
        # shellcheck disable=SC2086
        "$cc" -std=gnu11 -O2 $warnings -D_GNU_SOURCE -static -o "$out" "$src"/*.c
        # Its SHA-256 goes into the jar next to it: the JVM names the extraction directory by it without hashing
        # the helper itself (which costs a fresh JVM a few hundred milliseconds).
        sha256sum "$out" | cut -d' ' -f1 > "$out.sha256"
        ;;
esac
