#!/usr/bin/env bash
# run-in-rxe-vm.sh - run a command inside a throw-away QEMU (TCG, no KVM needed)
# VM that boots a stock Debian 12 kernel with Soft-RoCE (rdma_rxe) configured.
# The project's copy of the feasibility prototype (tests/rxe/README.md):
# the cache lives outside the tree (/var/cache/mooncake-rxe-vm, or
# RXE_VM_CACHE / -c, e.g. under a build dir) and is never committed; -P
# only checks that a VM can be run here and says why not.
#
# Usage:
#   run-in-rxe-vm.sh [options] [--] CMD [ARG...]
#
# Options (each also settable through the environment variable shown):
#   -x DIR     extra directory copied into the VM at /extra (RXE_VM_EXTRA).
#              ELF files in it get their shared libraries (resolved with ldd on
#              this host) copied too. The command runs with /extra as cwd and
#              /extra, /extra/bin on PATH.
#   -m MiB     guest memory                               (RXE_VM_MEM, 2048)
#   -s N       guest vCPUs (multi-threaded TCG)            (RXE_VM_SMP, 2)
#   -t SEC     wall-clock limit for the whole VM run      (RXE_VM_TIMEOUT, 900)
#   -n MODE    netdev for rxe: virtio | dummy | lo        (RXE_VM_NET, virtio)
#                virtio: qemu virtio-net NIC (eth0, 10.0.2.15), user-mode
#                        backend with restrict=on (nothing leaves the VM)
#                dummy:  no NIC at all; rxe0 on a 'dummy' netdev (10.0.2.15)
#                lo:     no NIC at all; rxe0 on the loopback (127.0.0.1)
#   -c DIR     cache dir (debs, kernel, base initramfs)  (RXE_VM_CACHE,
#              /var/cache/mooncake-rxe-vm)
#   -o DIR     host directory shared read-write into the VM at /out via
#              virtio-9p (RXE_VM_OUT); lets the command hand back files.
#              Inside the VM RXE_OUT=/out is exported when set.
#   -l FILE    also write the raw serial console log here (RXE_VM_LOG)
#   -v         verbose: kernel messages on the console, set -x in guest init
#   -q         quiet: only print the command's output section
#   -P         probe: exit 0 if a VM can be run here, else print
#              "skip: <reason>" and exit 125 (nothing is downloaded)
#   -h         help
# Also: RXE_VM_QEMU_ARGS="..." extra qemu arguments (word-split),
#       RXE_VM_APPEND="..." extra kernel command line,
#       RXE_VM_EXTRA_PKGS="pkg ..." more Debian packages (downloaded and
#       dpkg -x'ed like the rest); their bin/sbin executables go into the VM,
#       e.g. RXE_VM_EXTRA_PKGS="perftest librdmacm1 libibumad3 libpci3"
#
# CMD is executed (exec-style, arguments preserved) by busybox sh inside the
# VM after rxe0 is up. Wrap shell snippets in: sh -c '...'.
# Inside the VM these variables are exported for the command:
#   RXE_DEV=rxe0  RXE_NETDEV=eth0|rxenet0|lo  RXE_IP=10.0.2.15|127.0.0.1
#   RXE_GID_INDEX=<index of the IPv4-mapped RoCEv2 GID>
# The script exits with CMD's exit status (parsed from a per-run marker line on
# the serial console); 124 = timeout, 125 = VM/setup failure (no marker).
#
# Host requirements: Debian 12 (bookworm) x86_64, apt sources reachable, root
# (only to apt-get install qemu-system-x86/cpio when missing). Packages used:
#   installed on the host:  qemu-system-x86 cpio (+ coreutils, util-linux flock)
#   downloaded only (apt-get download + dpkg -x into the cache, never installed):
#     linux-image-amd64 -> linux-image-<abi>-amd64, busybox-static,
#     ibverbs-utils, ibverbs-providers, libibverbs1, iproute2, libnl-3-200,
#     libnl-route-3-200, libmnl0, libbsd0, libmd0, libcap2, libbpf1, libelf1,
#     zlib1g
#     (libc6/ld.so are taken from the host, which must be bookworm too)
#     (+ RXE_VM_EXTRA_PKGS, e.g. "perftest")
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${RXE_VM_CACHE:-/var/cache/mooncake-rxe-vm}
PROBE=0
EXTRA=${RXE_VM_EXTRA:-}
MEM=${RXE_VM_MEM:-2048}
SMP=${RXE_VM_SMP:-2}
TIMEOUT=${RXE_VM_TIMEOUT:-900}
NET=${RXE_VM_NET:-virtio}
LOGFILE=${RXE_VM_LOG:-}
OUTDIR=${RXE_VM_OUT:-}
VERBOSE=${RXE_VM_VERBOSE:-0}
QUIET=${RXE_VM_QUIET:-0}
EXTRA_PKGS=${RXE_VM_EXTRA_PKGS:-}
read -r -a QEMU_EXTRA <<< "${RXE_VM_QEMU_ARGS:-}"   # extra qemu args (word-split)

# Bump when the layout of the base initramfs changes (invalidates the cache).
BASE_FORMAT=4
GUEST_IP=10.0.2.15

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
log() { [ "$QUIET" = 1 ] || echo "[rxe-vm] $*" >&2; }
warn() { echo "[rxe-vm] $*" >&2; }
die() { echo "[rxe-vm] ERROR: $*" >&2; exit 125; }

while getopts ":x:m:s:t:n:c:o:l:vqPh" opt; do
  case $opt in
    x) EXTRA=$OPTARG ;;
    m) MEM=$OPTARG ;;
    s) SMP=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    n) NET=$OPTARG ;;
    c) CACHE=$OPTARG ;;
    o) OUTDIR=$OPTARG ;;
    l) LOGFILE=$OPTARG ;;
    v) VERBOSE=1 ;;
    q) QUIET=1 ;;
    P) PROBE=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 125 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || set -- sh -c 'ibv_devices && rdma link show'
case $NET in virtio|dummy) ;; lo) GUEST_IP=127.0.0.1 ;; *) die "bad -n $NET (virtio|dummy|lo)";; esac
[ -z "$EXTRA" ] || [ -d "$EXTRA" ] || die "extra dir '$EXTRA' does not exist"
if [ -n "$OUTDIR" ]; then mkdir -p "$OUTDIR"; OUTDIR=$(cd "$OUTDIR" && pwd); fi

T_START=$EPOCHREALTIME

# ------------------------------------------------------------------ probe
# Reasons a VM cannot run here; each is a skip for the callers, not a failure.
probe() {
  [ "$(uname -m)" = x86_64 ] || { echo "skip: host is $(uname -m), the VM image is x86_64"; return 1; }
  grep -q 'VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null ||
    { echo "skip: host is not Debian 12 (bookworm): the VM reuses the host's libc"; return 1; }
  if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "skip: qemu-system-x86/cpio missing and not root to install them"; return 1; }
    command -v apt-get >/dev/null || { echo "skip: qemu-system-x86/cpio missing and no apt-get"; return 1; }
  fi
  if [ ! -s "$CACHE/debs/.kernel-pkg" ]; then
    apt-cache show linux-image-amd64 >/dev/null 2>&1 ||
      { echo "skip: no cached VM image in $CACHE and apt cannot see linux-image-amd64"; return 1; }
  fi
  mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ] || { echo "skip: cache dir $CACHE is not writable"; return 1; }
  return 0
}
if [ "$PROBE" = 1 ]; then probe && exit 0; exit 125; fi

# ---------------------------------------------------------------- host tools
need_install=()
command -v qemu-system-x86_64 >/dev/null || need_install+=(qemu-system-x86)
command -v cpio >/dev/null || need_install+=(cpio)
if [ ${#need_install[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_install[*]} (apt-get install them as root)"
  log "installing host packages: ${need_install[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      "${need_install[@]}" >/dev/null || {
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${need_install[@]}" >/dev/null
  }
fi

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
exec 9>"$CACHE/.lock"
flock 9     # serialise cache building between concurrent invocations

# ---------------------------------------------------------- guest packages
DEBS=$CACHE/debs          # downloaded .debs (apt-get download)
ROOT=$CACHE/root          # all of them extracted here (dpkg -x)
PKGS=(busybox-static ibverbs-utils ibverbs-providers libibverbs1 iproute2
      libnl-3-200 libnl-route-3-200 libmnl0 libbsd0 libmd0 libcap2 libbpf1
      libelf1 zlib1g)
read -r -a XPKGS <<< "$EXTRA_PKGS"
mkdir -p "$DEBS" "$ROOT/.x"
# The kernel package is resolved once (linux-image-amd64 -> linux-image-ABI)
# and then pinned by the cache; delete the cache dir to pick up a newer one.
if [ ! -s "$DEBS/.kernel-pkg" ]; then
  kpkg() { apt-cache depends linux-image-amd64 2>/dev/null |
           awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  KPKG=$(kpkg)
  if [ -z "$KPKG" ]; then apt-get update >/dev/null; KPKG=$(kpkg); fi
  [ -n "$KPKG" ] || die "cannot resolve linux-image-amd64"
  echo "$KPKG" > "$DEBS/.kernel-pkg"
fi
KPKG=$(cat "$DEBS/.kernel-pkg")
ALLPKGS=("$KPKG" "${PKGS[@]}" "${XPKGS[@]}")
deb_of() { compgen -G "$DEBS/${1}_*.deb" | head -n1; }
missing=()
for p in "${ALLPKGS[@]}"; do [ -n "$(deb_of "$p")" ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading: ${missing[*]}"
  # (apt warns that the download runs unsandboxed as root: harmless)
  ( cd "$DEBS" && apt-get download "${missing[@]}" >/dev/null 2>"$DEBS/.err" ) ||
    { ( cd "$DEBS" && apt-get update >/dev/null &&
        apt-get download "${missing[@]}" >/dev/null 2>"$DEBS/.err" ) ||
      { cat "$DEBS/.err" >&2; die "apt-get download failed"; }; }
fi
for p in "${ALLPKGS[@]}"; do
  [ -f "$ROOT/.x/$p" ] && continue
  d=$(deb_of "$p"); [ -n "$d" ] || die "no .deb for $p"
  dpkg -x "$d" "$ROOT" && : > "$ROOT/.x/$p"
done
KVER=${KPKG#linux-image-}
VMLINUZ=$ROOT/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "kernel not found in $ROOT/boot"
# Booting the uncompressed ELF vmlinux through qemu's PVH entry (the Debian
# kernel has CONFIG_PVH=y) skips the in-guest XZ decompression, which costs
# ~3 s under TCG. Extract it once from the bzImage; fall back to the bzImage.
VMLINUX=$CACHE/vmlinux-$KVER
if [ ! -s "$VMLINUX" ] && [ ! -f "$VMLINUX.failed" ]; then
  log "extracting uncompressed vmlinux for PVH boot"
  if command -v python3 >/dev/null; then
    python3 - "$VMLINUZ" "$VMLINUX.tmp" <<'PY' || true
import lzma, sys
d = open(sys.argv[1], 'rb').read()
off = d.find(b'\xfd7zXZ\x00')
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[off:]) if off >= 0 else b''
if out[:4] == b'\x7fELF':
    open(sys.argv[2], 'wb').write(out)
PY
  fi
  if [ -s "$VMLINUX.tmp" ]; then mv "$VMLINUX.tmp" "$VMLINUX"; else rm -f "$VMLINUX.tmp"; : > "$VMLINUX.failed"; fi
fi
if [ -n "${RXE_VM_KERNEL:-}" ]; then KERNEL=$RXE_VM_KERNEL
elif [ -s "$VMLINUX" ]; then KERNEL=$VMLINUX
else KERNEL=$VMLINUZ; fi
MODDIR=$ROOT/lib/modules/$KVER

# ----------------------------------------------------------- ELF helpers
# Copy the shared-library closure of ELF files into a staging tree.
# Search order: extracted debs first, then the host.
GUEST_LIBPATH="$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu/libibverbs"
declare -A SKIPLIB=()   # names already in the base image (not re-copied)
copy_libs() {           # copy_libs STAGE FILE...
  local stage=$1; shift
  local f lib
  for f in "$@"; do
    { LD_LIBRARY_PATH="$GUEST_LIBPATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        ldd "$f" 2>/dev/null || true; } | awk '
        /=> not found/ { print "MISSING " $1; next }
        /=>/ { if ($3 ~ /^\//) print $3; next }
        $1 ~ /^\// { print $1 }'
  done | sort -u | while read -r lib; do
    [ -z "${SKIPLIB[${lib##*/}]:-}" ] || continue
    case $lib in
      MISSING*) echo "[rxe-vm] warning: ${lib#MISSING } not found (add its package to RXE_VM_EXTRA_PKGS)" >&2; continue ;;
      */ld-linux-x86-64.so.2) dst=$stage/usr/lib64/ld-linux-x86-64.so.2 ;;
      *) dst=$stage/usr/lib/x86_64-linux-gnu/$(basename "$lib") ;;
    esac
    [ -e "$dst" ] || cp -L "$lib" "$dst"
  done
}
is_elf() { local m=; [ -f "$1" ] && IFS= LC_ALL=C read -r -d '' -N 4 m < "$1" 2>/dev/null; [ "$m" = $'\x7fELF' ]; }

# Module closure in load order (deps parsed from the .modinfo 'depends=').
declare -A MODPATH=() MODSEEN=()
MODORDER=()
index_modules() {
  local f n
  while IFS= read -r f; do
    n=${f##*/}; n=${n%.ko}; MODPATH[$n]=$f; MODPATH[${n//-/_}]=$f
  done < <(find "$MODDIR/kernel" -name '*.ko')
}
add_module() {
  local m=${1//-/_} f deps d
  [ -n "${MODSEEN[$m]:-}" ] && return 0
  MODSEEN[$m]=1
  f=${MODPATH[$m]:-}
  [ -n "$f" ] || die "module $m not found in $MODDIR"
  deps=$(tr '\0' '\n' < "$f" | grep -a '^depends=' | head -n1 | cut -d= -f2)
  for d in ${deps//,/ }; do add_module "$d"; done
  MODORDER+=("$m")
}

# ------------------------------------------------------ base initramfs
BASE_KEY=$(printf '%s\n' "$BASE_FORMAT" "$KVER" "${PKGS[*]}" "${XPKGS[*]}" \
             "$(sed -n '/^# >>> BASE-BEGIN/,/^# <<< BASE-END/p' "${BASH_SOURCE[0]}")" |
           sha1sum | cut -c1-12)
BASE_CPIO=$CACHE/base-$BASE_KEY.cpio
# >>> BASE-BEGIN (edits in this block invalidate the cached base initramfs)
build_base() {
  local st=$CACHE/base.stage b p l
  rm -rf "$st"; mkdir -p "$st"
  ( cd "$st"
    mkdir -p usr/bin usr/sbin usr/lib/x86_64-linux-gnu/libibverbs usr/lib64 \
             "usr/lib/modules/$KVER" etc/libibverbs.d dev proc sys tmp run root extra
    ln -s usr/bin bin; ln -s usr/sbin sbin; ln -s usr/lib lib; ln -s usr/lib64 lib64 )

  # busybox (static); applet links are made in the guest by
  # 'busybox --install -s' (one fork per link is slow here); iproute2's
  # ip/rdma and the ibverbs utils are real files, so they win.
  cp "$ROOT/bin/busybox" "$st/usr/bin/busybox"
  ln -s busybox "$st/usr/bin/sh"
  local bins=("$ROOT/bin/ip" "$ROOT/usr/bin/rdma" "$ROOT"/usr/bin/ibv_*)
  # executables shipped by RXE_VM_EXTRA_PKGS (e.g. perftest's ib_send_bw)
  for p in "${XPKGS[@]}"; do
    while IFS= read -r b; do [ -f "$ROOT/$b" ] && bins+=("$ROOT/$b"); done \
      < <(dpkg-deb -c "$(deb_of "$p")" | awk '{print $6}' |
          grep -E '^\./(usr/)?s?bin/[^/]+$' | sed 's|^\./||')
  done
  for b in "${bins[@]}"; do rm -f "$st/usr/bin/$(basename "$b")"; cp "$b" "$st/usr/bin/"; done
  # libibverbs provider for rxe + its driver file (only rxe, avoids noise)
  cp "$ROOT/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so" \
     "$st/usr/lib/x86_64-linux-gnu/libibverbs/"
  cp "$ROOT/etc/libibverbs.d/rxe.driver" "$st/etc/libibverbs.d/"
  [ -d "$ROOT/etc/iproute2" ] && cp -r "$ROOT/etc/iproute2" "$st/etc/"
  copy_libs "$st" "${bins[@]}" "$st/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so"
  ( cd "$st/usr/lib/x86_64-linux-gnu/libibverbs" &&
    ln -sf librxe-rdmav34.so librxe-rdmav34.so.1 2>/dev/null || true )
  echo 'root:x:0:0:root:/root:/bin/sh' > "$st/etc/passwd"
  echo 'root:x:0:' > "$st/etc/group"
  : > "$st/etc/ld.so.conf"
  ldconfig -r "$st" 2>/dev/null || true
  for l in "$st"/usr/lib/x86_64-linux-gnu/* "$st"/usr/lib64/*; do echo "${l##*/}"; done > "$BASE_CPIO.libs"

  # kernel modules: NIC, crc32 (needed by rxe icrc via crypto API), rxe stack
  index_modules
  for m in failover net_failover virtio virtio_ring virtio_pci virtio_net dummy \
           crc32_generic udp_tunnel ip6_udp_tunnel \
           ib_core ib_uverbs rdma_rxe; do
    add_module "$m"
  done
  printf '%s\n' "${MODORDER[@]}" > "$st/etc/rxe-modules"
  local n1=${#MODORDER[@]}
  add_module 9pnet_virtio; add_module 9p          # only loaded with -o
  printf '%s\n' "${MODORDER[@]:$n1}" > "$st/etc/rxe-modules-9p"
  for m in "${MODORDER[@]}"; do cp "${MODPATH[$m]}" "$st/usr/lib/modules/$KVER/$m.ko"; done

  cat > "$st/init" <<'EOF'
#!/bin/sh
# PID 1 of the rxe test VM
/usr/bin/busybox --install -s /usr/bin
export PATH=/extra/bin:/extra:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
. /etc/rxe-vm.conf
[ "$RXE_VM_VERBOSE" = 1 ] && set -x
up() { cut -d' ' -f1 /proc/uptime; }
bail() { echo "RXE-VM: setup failed: $*"; echo "RXE_VM_EXIT_${RXE_VM_NONCE}=125"; poweroff -f; sleep 5; }
echo "RXE-VM: init started at $(up)s uptime"
KV=$(uname -r)
MODS=$(cat /etc/rxe-modules)
[ "$RXE_VM_9P" = 1 ] && MODS="$MODS $(cat /etc/rxe-modules-9p)"
for m in $MODS; do
  insmod /lib/modules/$KV/$m.ko 2>/tmp/insmod.err || {
    grep -q 'File exists' /tmp/insmod.err || { cat /tmp/insmod.err; bail "insmod $m"; }; }
done
if [ "$RXE_VM_9P" = 1 ]; then
  mkdir -p /out
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rxeout /out || bail "mount 9p /out"
  export RXE_OUT=/out
fi
ip link set lo up
if [ "$RXE_VM_NET" = lo ]; then
  NETDEV=lo
elif [ "$RXE_VM_NET" = dummy ]; then
  ip link add rxenet0 type dummy || bail "dummy"
  NETDEV=rxenet0
else
  NETDEV=eth0
  i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -e /sys/class/net/eth0 ] || bail "no eth0"
fi
if [ $NETDEV != lo ]; then
  ip addr add $RXE_IP/24 dev $NETDEV || bail "ip addr"
  ip link set $NETDEV up || bail "link up"
fi
rdma link add rxe0 type rxe netdev $NETDEV || bail "rdma link add"
i=0; while [ ! -e /dev/infiniband/uverbs0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -e /dev/infiniband/uverbs0 ] || bail "no /dev/infiniband/uverbs0"
# find the IPv4-mapped GID (RoCEv2) for ibv_*_pingpong -g
GIDX=
i=0; while [ -z "$GIDX" ] && [ $i -lt 100 ]; do
  for g in /sys/class/infiniband/rxe0/ports/1/gids/*; do
    case $(cat $g 2>/dev/null) in 0000:0000:0000:0000:0000:ffff:*) GIDX=${g##*/}; break;; esac
  done
  [ -n "$GIDX" ] || { sleep 0.1; i=$((i+1)); }
done
[ -n "$GIDX" ] || bail "no IPv4 GID on rxe0"
export RXE_DEV=rxe0 RXE_NETDEV=$NETDEV RXE_IP RXE_GID_INDEX=$GIDX
ulimit -l unlimited 2>/dev/null
echo "RXE-VM: rxe0 ready on $NETDEV ($RXE_IP, gid index $GIDX) at $(up)s uptime"
echo "RXE_VM_READY_${RXE_VM_NONCE}"
cd /extra
set +x
sh /cmd.sh </dev/null
rc=$?
cd /
[ "$RXE_VM_9P" = 1 ] && { sync; umount /out; }
echo "RXE_VM_EXIT_${RXE_VM_NONCE}=$rc"
sync
poweroff -f
sleep 10
EOF
  chmod 755 "$st/init"
  ( cd "$st" && find . -print0 | LC_ALL=C sort -z |
      cpio --null -o -H newc --owner 0:0 --quiet ) > "$BASE_CPIO.tmp"
  mv "$BASE_CPIO.tmp" "$BASE_CPIO"
  rm -rf "$st"
}
# <<< BASE-END
if [ ! -f "$BASE_CPIO" ] || [ ! -f "$BASE_CPIO.libs" ]; then
  log "building base initramfs ($KVER)"
  build_base      # (older base-*.cpio are left alone: another run may use one)
fi
# leftovers of runs that were killed hard
find "$CACHE" -maxdepth 1 -name 'run.*' -mmin +360 -exec rm -rf {} + 2>/dev/null || true
flock -u 9
while read -r l; do [ -z "$l" ] || SKIPLIB[$l]=1; done < "$BASE_CPIO.libs"

# ---------------------------------------------------------- per-run part
RUN=$(mktemp -d "$CACHE/run.XXXXXX")
cleanup() { rm -rf "$RUN"; }
trap cleanup EXIT
NONCE=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
ST=$RUN/stage
mkdir -p "$ST/extra" "$ST/etc" "$ST/usr/lib/x86_64-linux-gnu" "$ST/usr/lib64"
if [ -n "$EXTRA" ]; then
  cp -a "$EXTRA"/. "$ST/extra/"
  elfs=()
  while IFS= read -r -d '' f; do is_elf "$f" && elfs+=("$f"); done \
    < <(find "$ST/extra" -type f -print0)
  [ ${#elfs[@]} -eq 0 ] || copy_libs "$ST" "${elfs[@]}"   # skips base libs
fi
{ printf '#!/bin/sh\n'; printf '%q ' "$@"; printf '\n'; } > "$ST/cmd.sh"
cat > "$ST/etc/rxe-vm.conf" <<EOF
RXE_VM_NONCE=$NONCE
RXE_VM_NET=$NET
RXE_VM_VERBOSE=$VERBOSE
RXE_VM_9P=$([ -n "$OUTDIR" ] && echo 1 || echo 0)
RXE_IP=$GUEST_IP
EOF
( cd "$ST" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --owner 0:0 --quiet ) > "$RUN/run.cpio"
cat "$BASE_CPIO" "$RUN/run.cpio" > "$RUN/initrd.cpio"

APPEND="console=ttyS0,115200 panic=-1 rdinit=/init nokaslr mitigations=off"
if [ "$VERBOSE" = 1 ]; then APPEND+=" loglevel=7"; else APPEND+=" quiet loglevel=3"; fi
APPEND+="${RXE_VM_APPEND:+ $RXE_VM_APPEND}"
# shellcheck disable=SC2054  # commas are qemu option syntax
case $NET in
  virtio) NETARGS=(-netdev user,id=n0,restrict=on,ipv6=off
                   -device virtio-net-pci,netdev=n0,romfile=) ;;
  dummy|lo) NETARGS=(-nic none) ;;
esac
# shellcheck disable=SC2054
[ -z "$OUTDIR" ] || NETARGS+=(-fsdev "local,id=fs0,path=$OUTDIR,security_model=none"
                              -device virtio-9p-pci,fsdev=fs0,mount_tag=rxeout,romfile=)

T_BUILT=$EPOCHREALTIME
log "booting VM (TCG, smp=$SMP, mem=${MEM}M, net=$NET, timeout=${TIMEOUT}s)"
SERLOG=$RUN/console.log
T_READY=
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
  -nodefaults -no-user-config -machine pc -accel tcg,thread=multi -cpu max \
  -smp "$SMP" -m "$MEM" -display none -no-reboot \
  -kernel "$KERNEL" -initrd "$RUN/initrd.cpio" -append "$APPEND" \
  -serial stdio -monitor none "${NETARGS[@]}" "${QEMU_EXTRA[@]}" </dev/null 2>"$RUN/qemu.err" |
{
  inside=0
  while IFS= read -r line; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >> "$SERLOG"
    case $line in
      *RXE_VM_READY_$NONCE*) inside=1; echo "$EPOCHREALTIME" > "$RUN/t_ready"; continue ;;
      *RXE_VM_EXIT_$NONCE=*) inside=0; continue ;;
    esac
    if [ "$QUIET" != 1 ] || [ $inside = 1 ]; then printf '%s\n' "$line"; fi
  done
}
qrc=${PIPESTATUS[0]}
set -e
T_END=$EPOCHREALTIME
[ -z "$LOGFILE" ] || cp "$SERLOG" "$LOGFILE" 2>/dev/null || true
[ -f "$RUN/t_ready" ] && T_READY=$(cat "$RUN/t_ready")

rc=$(grep -a -o "RXE_VM_EXIT_$NONCE=[0-9]*" "$SERLOG" 2>/dev/null | tail -n1 | cut -d= -f2 || true)
fmt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
if [ -n "$T_READY" ]; then
  log "timings: prepare $(fmt "$T_START" "$T_BUILT")s, boot-to-ready $(fmt "$T_BUILT" "$T_READY")s, command $(fmt "$T_READY" "$T_END")s, total $(fmt "$T_START" "$T_END")s"
fi
if [ -z "$rc" ]; then
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    warn "VM timed out after ${TIMEOUT}s"; rc=124
  else
    warn "no exit marker on console (qemu rc=$qrc)"; cat "$RUN/qemu.err" >&2; rc=125
  fi
  [ "$QUIET" != 1 ] || { warn "last console lines:"; tail -n 30 "$SERLOG" >&2 2>/dev/null || true; }
fi
exit "$rc"
