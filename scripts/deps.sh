#!/usr/bin/env bash
# Installs the Debian packages weir needs that are missing; says what and
# why. Used by `make`, `make test`, `make demo` and .ci/run.
set -euo pipefail

# Build and test: compiler, meson, the libraries weir uses, and the real
# peers the tests and benchmarks run against.
pkgs=(
  build-essential pkg-config meson ninja-build clang llvm
  libbpf-dev libxdp-dev xdp-tools bpftool libpcap-dev liburing-dev libinih-dev libcap-ng-dev
  libcriterion-dev libdpdk-dev dpdk dpdk-dev
  iproute2 iputils-ping ethtool tcpdump tshark iperf3 fio python3 procps
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "weir: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "weir: need root to install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
