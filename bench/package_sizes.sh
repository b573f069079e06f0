#!/usr/bin/env bash
# Package and image sizes (scripts/bench): each container image's root, and
# its OCI archive, against the baseline of the same run: the bytes of the
# programs it runs and the shared libraries they load (ldd, on the files the
# .deb installs). Target: each image <= 2x that baseline.
#   package_sizes.sh OUT_DIR   (OUT_DIR: scripts/package --images output)
set -euo pipefail
out=$1
arch=$(dpkg --print-architecture)
version=$(dpkg-deb -f "$(ls "$out"/attestd_*_"$arch".deb | head -1)" Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/attest-sizes.XXXXXX")
trap 'rm -rf "$work"' EXIT

kib() { echo $(( ($1 + 1023) / 1024 )); }
echo "package sizes ($version):"
for p in attestd attest-agent attestctl attest-witness; do
  deb="$out/${p}_${version}_$arch.deb"
  installed=$(dpkg-deb -f "$deb" Installed-Size)
  printf '  %-16s .deb %6s KiB, installed %6s KiB\n' "$p" "$(kib "$(stat -c %s "$deb")")" "$installed"
done

# The bytes of these programs and every shared library they load, each file once.
closure_bytes() {  # root programs...
  local root=$1; shift
  for prog in "$@"; do
    echo "$root$prog"
    LD_LIBRARY_PATH="$root/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
      ldd "$root$prog" | awk '/=>/ && $3 ~ /^\// { print $3 } /^\t\/lib/ { print $1 }'
  done | xargs -r readlink -f | sort -u | xargs -r stat -L -c %s | awk '{ s += $1 } END { print s }'
}
echo "image sizes (root: unpacked image; archive: the .oci.tar, gzip layers):"
for p in attestd attest-agent; do
  mkdir -p "$work/$p.oci"
  tar -C "$work/$p.oci" -xf "$out/${p}_$version.oci.tar"
  umoci unpack --image "$work/$p.oci:$version" "$work/$p" >/dev/null
  root=$work/$p/rootfs
  programs=("/usr/bin/$p")
  # The agent also runs apt-get (patch collector; it needs the http method,
  # whose presence apt-get -s checks), /bin/sh (custom checks) and chown
  # (the chart's init container): the same list scripts/lib/image.sh keeps
  # the libraries of.
  [ "$p" = attest-agent ] && programs+=(/usr/bin/apt-get /bin/dash /usr/lib/apt/methods/http /bin/chown)
  base=$(closure_bytes "$root" "${programs[@]}")
  image=$(du -sb --apparent-size "$root" | cut -f1)
  archive=$(stat -c %s "$out/${p}_$version.oci.tar")
  printf '  %-13s root %6s KiB, archive %6s KiB; programs+libraries (%s) %6s KiB; root/baseline %s (target <= 2.00)\n' \
    "$p" "$(kib "$image")" "$(kib "$archive")" "$(IFS=' '; echo "${programs[*]##*/}")" "$(kib "$base")" \
    "$(awk -v a="$image" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done
