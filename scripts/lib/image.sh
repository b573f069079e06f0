#!/usr/bin/env bash
# One container image, from the .debs scripts/package just built:
#   image.sh OUT_DIR VERSION PROGRAM        (PROGRAM: attestd or attest-agent)
# writes OUT_DIR/PROGRAM_VERSION.oci.tar, an OCI image layout in a tar
# (an "oci-archive"), tagged VERSION and named localhost/attest/PROGRAM:VERSION,
# which is what the Helm chart deploys by default.
#
# The root holds the program's package and the shared libraries it depends
# on, extracted by mmdebstrap from Debian's archive (no shell, no package
# manager, no maintainer scripts run), plus /etc/passwd and /etc/group naming
# the image's user, and the CA bundle for https Alertmanagers and witnesses.
set -euo pipefail
out=$1 version=$2 program=$3
arch=$(dpkg --print-architecture)
deb="$out/${program}_${version}_$arch.deb"
[ -f "$deb" ] || { echo "image.sh: no $deb" >&2; exit 1; }

# The user each image runs as: the Helm chart's securityContext says the same
# (tests/package/images_test.sh checks both). Neither is root. attestd is an
# unprivileged service. The agent reads root-only node files (sudoers,
# /root/.ssh): its binary carries the file capability CAP_DAC_READ_SEARCH
# (read any file, nothing else), which the kernel grants on exec to its
# non-root user when the container's bounding set allows it (the chart adds
# exactly that one). /bin/chown is there for the chart's init container,
# which hands the node's spool directory to the agent's user.
case "$program" in
  attestd)
    user=10001 group=10001 name=attest
    ports=(--config.exposedports 7443/tcp --config.exposedports 9464/tcp)
    volumes=(--config.volume /var/lib/attest)
    # Mozilla's CA set, for https Alertmanagers and witnesses without a CA
    # flag (its openssl and debconf dependencies are for building the
    # bundle, done here instead).
    extra_debs=(ca-certificates)
    cmd=(--config.cmd=--config --config.cmd=/etc/attest/attestd.yaml)
    ;;
  attest-agent)
    user=10002 group=10002 name=attest-agent
    ports=()
    volumes=(--config.volume /var/lib/attest-agent)
    # What its collectors run: apt-get -s (patch, against /host's dpkg and
    # apt lists) and /bin/sh (custom checks). Their packages are extracted
    # with only their libraries: apt's adduser, gpgv and keyring, and dash's
    # dpkg, serve maintainer scripts and apt's downloads, which an image
    # never runs.
    extra_debs=(apt dash coreutils)
    cmd=(--config.cmd=--config --config.cmd=/etc/attest/agent.yaml)
    ;;
  *) echo "image.sh: no image for $program" >&2; exit 2 ;;
esac
repository=localhost/attest/$program

work=$(mktemp -d "${TMPDIR:-/tmp}/attest-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs

# The package's Depends:, without the alternatives that only its maintainer
# scripts use (sysusers needs systemd; an image runs no maintainer scripts),
# and the libraries of the extra programs.
names() { tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/ //g' | grep -v '^$' || true; }
depends=$( {
  dpkg-deb -f "$deb" Depends | names | grep -v -e 'systemd'
  for p in "${extra_debs[@]}"; do
    [ "$p" = coreutils ] && continue  # only its chown is kept, which needs libc alone
    apt-cache show --no-all-versions "$p" | sed -n 's/^\(Pre-\)\{0,1\}Depends: //p' | names | { grep '^lib' || true; }
  done
} | sort -u | paste -sd, -)
# Debian 12 with its point-release updates and security fixes: what a host
# runs, and the same suites this machine's apt (apt-get download) uses.
debian_sources=("deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main")
echo "== image $repository:$version (from $deb; libraries: $depends)"
mmdebstrap --quiet --variant=extract --mode=root --format=directory --include="$depends" \
  bookworm "$rootfs" "${debian_sources[@]}" >&2
dpkg-deb -x "$deb" "$rootfs"
if [ ${#extra_debs[@]} -gt 0 ]; then
  mkdir -p "$work/extra"
  (cd "$work/extra" && apt-get download -q -o APT::Sandbox::User=root "${extra_debs[@]}" >/dev/null)
  for d in "$work"/extra/*.deb; do dpkg-deb -x "$d" "$rootfs"; done
fi
# apt-get reads dpkg's architecture tables (/usr/share/dpkg/*table); the
# agent's image takes those from dpkg's package, and no dpkg program.
if [ "$program" = attest-agent ]; then
  (cd "$work/extra" && apt-get download -q -o APT::Sandbox::User=root dpkg >/dev/null)
  dpkg-deb -x "$work"/extra/dpkg_*.deb "$work/dpkg"
  mkdir -p "$rootfs/usr/share/dpkg" "$rootfs/usr/share/doc/dpkg"
  cp "$work"/dpkg/usr/share/dpkg/*table "$rootfs/usr/share/dpkg/"
  cp "$work/dpkg/usr/share/doc/dpkg/copyright" "$rootfs/usr/share/doc/dpkg/"
fi
# Of coreutils, only chown (the init container's); its libraries are libc's.
if [ "$program" = attest-agent ]; then
  dpkg-deb -c "$work"/extra/coreutils_*.deb | awk '{ print $6 }' | sed -e 's|^\./|/|' | while read -r f; do
    case "$f" in /bin/chown|/usr/share/doc/coreutils/copyright|*/) ;; *) rm -f "$rootfs$f" ;; esac
  done
fi
rm -rf "${rootfs:?}"/dev/*  # the runtime provides /dev

# What mmdebstrap's own setup leaves and the programs never read.
rm -rf "$rootfs"/var/lib/apt "$rootfs"/var/cache/apt "$rootfs"/var/lib/dpkg "$rootfs"/etc/apt \
  "$rootfs"/var/log/apt "$rootfs"/etc/dpkg
# Documentation, man pages and translations, but every copyright file.
find "$rootfs/usr/share/doc" -mindepth 1 -type f ! -name copyright -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs"/etc/cron.daily "$rootfs"/etc/logrotate.d "$rootfs"/usr/share/bash-completion \
  "$rootfs"/usr/lib/apt/apt-helper "$rootfs"/usr/lib/apt/solvers \
  "$rootfs"/usr/lib/apt/planners "$rootfs"/usr/lib/dpkg
# The runtime provides these; gdb's pretty printers are for debugging builds.
rm -f "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname "$rootfs"/etc/fstab
rm -rf "$rootfs"/usr/share/gcc "$rootfs"/usr/share/gdb
rm -rf "$rootfs"/usr/share/man "$rootfs"/usr/share/locale "$rootfs"/usr/share/lintian \
  "$rootfs"/usr/share/info "$rootfs"/lib/systemd "$rootfs"/usr/lib/systemd \
  "$rootfs"/usr/lib/sysusers.d "$rootfs"/usr/lib/tmpfiles.d "$rootfs"/usr/sbin/update-ca-certificates
# Shared libraries that the library packages carry but that none of the
# image's programs loads (gRPC's unsecure variant, protoc's, glibc's iconv
# modules): everything outside the programs' ldd closure goes. Plugin
# directories that OpenSSL loads at run time (ossl-modules, engines-3) stay.
programs=("/usr/bin/$program")
# (apt-get -s checks that the sources' method drivers exist.)
[ "$program" = attest-agent ] && programs+=(/usr/bin/apt-get /bin/dash /usr/lib/apt/methods/http /bin/chown)
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
keep=$work/keep
for prog in "${programs[@]}"; do
  # ldd inside the image's root: the image's own libraries, not the host's.
  chroot "$rootfs" /lib64/ld-linux-x86-64.so.2 --list "$prog" |
    awk '/=>/ && $3 ~ /^\// { print $3 } /^\t\/lib/ { print $1 }'
done | while read -r lib; do readlink -f "$rootfs$lib"; done | sort -u >"$keep"
[ -s "$keep" ] || { echo "image.sh: no library closure for ${programs[*]}" >&2; exit 1; }
rm -rf "$rootfs/usr/lib/$multiarch/gconv"
for dir in "$rootfs/lib/$multiarch" "$rootfs/usr/lib/$multiarch" "$rootfs/usr/lib/apt"; do
  [ -d "$dir" ] || continue
  # (The dynamic loader stays whatever ldd says: /lib64's link to it is
  # absolute, so it resolves on this host, not in the image.)
  find "$dir" -maxdepth 1 \( -type f -o -type l \) -name '*.so*' ! -name 'ld-linux*' | while read -r f; do
    grep -qxF "$(readlink -f "$f")" "$keep" || rm -f "$f"
  done
done

# The CA bundle that ca-certificates' maintainer script would have made.
if [ -d "$rootfs/usr/share/ca-certificates" ]; then
  mkdir -p "$rootfs/etc/ssl/certs"
  find "$rootfs/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat \
    >"$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs/usr/share/ca-certificates" "$rootfs/etc/ca-certificates.conf"
fi
# The image's users, and the directories its volumes mount over.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
printf '%s:x:%s:%s:%s:%s:/usr/sbin/nologin\n' "$name" "$user" "$group" "$program" "${volumes[1]}" \
  >>"$rootfs/etc/passwd"
printf '%s:x:%s:\n' "$name" "$group" >>"$rootfs/etc/group"
# apt-get reads /etc/apt's fragments before -o Dir=/host/ takes effect.
if [ "$program" = attest-agent ]; then
  mkdir -p "$rootfs/etc/attest/checks.d" "$rootfs/etc/apt/apt.conf.d" "$rootfs/etc/apt/preferences.d" \
    "$rootfs/etc/apt/sources.list.d" "$rootfs/etc/apt/trusted.gpg.d"
fi
mkdir -p "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/host" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
for v in "${volumes[@]}"; do
  [ "$v" = --config.volume ] && continue
  mkdir -p "$rootfs$v"
  chown "$user:$group" "$rootfs$v"
  chmod 0700 "$rootfs$v"
done
# No set-user-ID or set-group-ID program: the agent's container allows
# privilege escalation (for its file capability), so none may be there to
# use it.
find "$rootfs" -xdev -type f -perm /6000 -exec chmod ug-s {} +
if [ "$program" = attest-agent ]; then
  setcap cap_dac_read_search=ep "$rootfs/usr/bin/attest-agent"
fi

layout=$work/oci
created=$(date -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)" +%Y-%m-%dT%H:%M:%SZ)
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci unpack --image "$layout:$version" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$rootfs" "$work/bundle/rootfs"
umoci repack --image "$layout:$version" --history.created_by "scripts/package --images" \
  --history.created "$created" "$work/bundle"
umoci config --image "$layout:$version" --created "$created" --os linux --architecture "$arch" \
  --config.user "$user:$group" --config.entrypoint "/usr/bin/$program" "${cmd[@]}" \
  --config.workingdir / --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin "${ports[@]}" \
  "${volumes[@]}" --config.label "org.opencontainers.image.title=$program" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.source=attest scripts/package"
umoci gc --layout "$layout"
# containerd (ctr images import) names the image after this annotation.
python3 - "$layout/index.json" "$repository:$version" <<'EOF'
import json, sys
path, name = sys.argv[1], sys.argv[2]
index = json.load(open(path))
for m in index["manifests"]:
    m.setdefault("annotations", {})["io.containerd.image.name"] = name
json.dump(index, open(path, "w"), separators=(",", ":"))
EOF
tar -C "$layout" --sort=name --mtime="$created" --owner=0 --group=0 --numeric-owner \
  -cf "$out/${program}_$version.oci.tar" .
echo "wrote $out/${program}_$version.oci.tar ($(du -k "$out/${program}_$version.oci.tar" | cut -f1) KiB)"
