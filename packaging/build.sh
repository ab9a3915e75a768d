#!/usr/bin/env bash
# Build the lms-console desktop bundle with PyInstaller and check it.
#
#   packaging/build.sh              one folder:  build/desktop/dist/lms-console/lms-console
#   packaging/build.sh --onefile    one file:    build/desktop/dist/lms-console
#
# 1. creates (or reuses) a RUNTIME-ONLY venv in the build dir: the project and the `build` extra
#    (PyInstaller), never the test tools (pandas._testing would pull pytest into the bundle);
# 2. builds with packaging/lms_console.spec (log: BUILD_DIR/pyinstaller.log);
# 3. runs `lms-console --version` and `lms-console --self-test` on the bundle, offscreen;
# 4. looks for what must not be inside (pytest, hypothesis, QtWebEngine, Qt3D, Qml/Quick, Pdf, GTK);
# 5. prints the bundle's size (du -sh) and the size of its .tar.gz.
# Exits non-zero on any failure.
#
# Environment: LMS_CONSOLE_BUILD_DIR (default: build/desktop in the checkout), PYTHON (python3),
# LMS_CONSOLE_SELFTEST_TIMEOUT (seconds, default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
BUILD=${LMS_CONSOLE_BUILD_DIR:-$ROOT/build/desktop}
PYTHON=${PYTHON:-python3}
VENV=$BUILD/venv
ONEFILE=0
for arg in "$@"; do
    case "$arg" in
        --onefile) ONEFILE=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [--onefile]" >&2; exit 2 ;;
    esac
done

say() { printf '\033[1m[build]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[build] error:\033[0m %s\n' "$*" >&2; exit 1; }

mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
VENV=$BUILD/venv

# -- 1. runtime-only venv -------------------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating the build venv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# pip's notes about index locations of this machine's pip configuration are not build problems.
# --no-compile: PyInstaller compiles what it bundles itself; byte-compiling every installed package
# (pandas, matplotlib, PySide6...) first only doubled the install time.
pip_install() {
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-compile "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
say "installing lms-console with its runtime dependencies and PyInstaller (the 'build' extra)"
pip_install "$ROOT[build]"
# The project itself is always reinstalled (not editable): the bundle gets exactly what a wheel ships.
pip_install --no-deps --force-reinstall "$ROOT"
if ! tools=$("$VENV/bin/python" "$ROOT/packaging/spec_helpers.py" test-tools); then
    die "the build venv has test tools installed ($(echo "$tools" | tr '\n' ' ')): remove $VENV and run again"
fi
VERSION=$("$VENV/bin/python" -c 'import lms_console; print(lms_console.__version__)')

# -- 2. PyInstaller ------------------------------------------------------------------------------------
DIST=$BUILD/dist
rm -rf "$DIST/lms-console"
SPEC_ARGS=()
[ "$ONEFILE" = 0 ] || SPEC_ARGS=(-- --onefile)
say "building lms-console $VERSION ($([ "$ONEFILE" = 1 ] && echo one file || echo one folder)); log: $BUILD/pyinstaller.log"
start=$(date +%s)
if ! "$VENV/bin/pyinstaller" --noconfirm --distpath "$DIST" --workpath "$BUILD/work" \
        "$ROOT/packaging/lms_console.spec" "${SPEC_ARGS[@]}" >"$BUILD/pyinstaller.log" 2>&1; then
    tail -n 30 "$BUILD/pyinstaller.log" >&2
    die "PyInstaller failed (see $BUILD/pyinstaller.log)"
fi
say "built in $(( $(date +%s) - start )) s; left out: $(grep -c 'lms-console: left out' "$BUILD/pyinstaller.log" || true) binaries"
if [ "$ONEFILE" = 1 ]; then
    BUNDLE=$DIST/lms-console
    EXE=$BUNDLE
else
    BUNDLE=$DIST/lms-console
    EXE=$BUNDLE/lms-console
fi
[ -x "$EXE" ] || die "no executable at $EXE"

# -- 3. --version and --self-test on the bundle -------------------------------------------------------------
run_offscreen() { env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen "$@"; }
t0=$(date +%s.%N)
got=$(run_offscreen "$EXE" --version) || die "'$EXE --version' failed"
t1=$(date +%s.%N)
[ "$got" = "lms-console $VERSION" ] || die "'--version' printed '$got', expected 'lms-console $VERSION'"
say "--version: $got ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s)"
say "running --self-test on the bundle"
run_offscreen timeout "${LMS_CONSOLE_SELFTEST_TIMEOUT:-600}" "$EXE" --self-test \
    || die "the bundle's --self-test failed"

# -- 4. nothing needless inside ----------------------------------------------------------------------------------
needless=$(find "$BUNDLE" \( -iname '*pytest*' -o -iname '*hypothesis*' -o -iname '*QtWebEngine*' \
    -o -iname '*Qt63D*' -o -iname '*Qt3D*' -o -iname 'libQt6Quick*' -o -iname 'libQt6Qml*' \
    -o -iname 'libQt6Pdf*' -o -iname '*gtk*' \) -print)
if [ "$ONEFILE" = 1 ]; then
    # A one-file bundle is an archive: list the files it unpacks (modules inside its PYZ are not
    # files; numpy._pytesttester, a stub numpy always imports, is one of them).
    needless=$("$VENV/bin/pyi-archive_viewer" --list "$EXE" 2>/dev/null \
        | grep -iE 'pytest|hypothesis|QtWebEngine|Qt6?3D|libQt6Quick|libQt6Qml|libQt6Pdf|gtk' || true)
fi
[ -z "$needless" ] || die "the bundle holds what it must not:"$'\n'"$needless"
say "no pytest, hypothesis, QtWebEngine, Qt3D, Qml/Quick, Pdf or GTK files inside"

# -- 5. sizes --------------------------------------------------------------------------------------------------------
ARCH=$(uname -m)
OS=$(uname -s | tr '[:upper:]' '[:lower:]')
SUFFIX=""
[ "$ONEFILE" = 0 ] || SUFFIX=-onefile
TARBALL=$BUILD/lms-console-$VERSION-$OS-$ARCH$SUFFIX.tar.gz
tar -czf "$TARBALL" -C "$DIST" lms-console
say "bundle: $(du -sh "$BUNDLE" | cut -f1)  $BUNDLE"
say "tar.gz: $(du -h "$TARBALL" | cut -f1)  $TARBALL"
echo "BUNDLE_SIZE_BYTES=$(du -sb "$BUNDLE" | cut -f1)"
echo "TARBALL_SIZE_BYTES=$(stat -c %s "$TARBALL")"
echo "BUNDLE_EXE=$EXE"
