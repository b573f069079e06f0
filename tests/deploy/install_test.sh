#!/usr/bin/env bash
# `cmake --install` of a build: every file in its FHS place under DESTDIR
# (and under another prefix), programs that run from there, and man pages
# that groff renders without a warning and that name every flag --help does.
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
root=$(mktemp -d "${TMPDIR:-/tmp}/attest-install.XXXXXX")
trap 'rm -rf "$root"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$root/usr-prefix cmake --install "$build" --prefix /usr >/dev/null
d=$root/usr-prefix
for f in usr/bin/attestd usr/bin/attest-agent usr/bin/attestctl \
         usr/lib/systemd/system/attestd.service usr/lib/systemd/system/attest-agent.service \
         usr/lib/systemd/system/attest-witness.service usr/lib/systemd/system/attest-agent.path \
         usr/lib/sysusers.d/attestd.conf usr/lib/tmpfiles.d/attestd.conf \
         usr/lib/sysusers.d/attest-agent.conf usr/lib/tmpfiles.d/attest-agent.conf \
         usr/lib/sysusers.d/attest-witness.conf usr/lib/tmpfiles.d/attest-witness.conf \
         etc/attest/attestd.yaml etc/attest/agent.yaml etc/attest/witness.yaml \
         usr/share/doc/attest/README.md usr/share/doc/attest/design.md \
         usr/share/doc/attest/bad-input.md usr/share/doc/attest/evidence-format.md \
         usr/share/man/man8/attestd.8 usr/share/man/man8/attest-agent.8 \
         usr/share/man/man1/attestctl.1 usr/share/man/man8/attest-witness.8; do
  [ -e "$d/$f" ] || fail "cmake --install did not write /$f"
done
want_version=$(sed -n 's/^project(attest VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
for p in attestd attest-agent attestctl attest-witness; do
  [ -x "$d/usr/bin/$p" ] || fail "/usr/bin/$p is not executable"
  "$d/usr/bin/$p" --help >/dev/null || fail "/usr/bin/$p --help exited $?"
  v=$("$d/usr/bin/$p" --version) || fail "/usr/bin/$p --version exited $?"
  [[ "$v" == "$p $want_version"* ]] || fail "$p --version says '$v', want the project's $want_version"
done
# The units run what the package installs, with the config it installs.
grep -q '^ExecStart=/usr/bin/attestd --config /etc/attest/attestd.yaml$' \
  "$d/usr/lib/systemd/system/attestd.service" || fail "attestd.service runs something else"

# Man pages: valid roff, and every flag of --help in them.
for page in man8/attestd.8 man8/attest-agent.8 man8/attest-witness.8 man1/attestctl.1; do
  warnings=$(groff -man -Tutf8 -ww -z "$d/usr/share/man/$page" 2>&1) || fail "groff: $page"
  [ -z "$warnings" ] || fail "groff warns about $page: $warnings"
done
for p in attestd attest-agent attest-witness; do
  section=8
  rendered=$(groff -man -Tascii -P-c -P-b -P-u "$d/usr/share/man/man$section/$p.$section" 2>/dev/null)
  for flag in $("$d/usr/bin/$p" --help | grep -oE '^  --[a-z0-9-]+'); do
    grep -qe "$flag" <<<"$rendered" || fail "$p($section) lacks $flag, which --help lists"
  done
done
rendered=$(groff -man -Tascii -P-c -P-b -P-u "$d/usr/share/man/man1/attestctl.1" 2>/dev/null)
for cmd in status hosts evidence import report approve export verify pki; do
  grep -q "attestctl $cmd" <<<"$rendered" || fail "attestctl(1) lacks the command $cmd"
done

# Another prefix moves the programs and pages, not the configuration.
DESTDIR=$root/opt cmake --install "$build" --prefix /opt/attest >/dev/null
[ -x "$root/opt/opt/attest/bin/attestctl" ] || fail "--prefix /opt/attest: no bin/attestctl"
[ -e "$root/opt/opt/attest/share/man/man8/attestd.8" ] || fail "--prefix /opt/attest: no man page"
[ -e "$root/opt/etc/attest/attestd.yaml" ] || fail "--prefix /opt/attest: config not in /etc/attest"
echo "install: 1 passed, 0 failed"
