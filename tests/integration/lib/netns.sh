# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# netns.sh — topologies of network namespaces joined by veth pairs, for
# weir's integration tests and benches. Source it from a bash script:
#
#     . "$(dirname "$0")/lib/netns.sh"      (or tests/integration/lib/netns.sh)
#     weir_require_root                      # exit 77 (skip) with a message
#     weir_topo_pair -q 2                    # nodes a and b, one veth pair
#     weir_nsexec a ping -c1 "$(weir_ip b a)"
#
# Everything it creates has a name containing this shell's PID, and is
# removed by an EXIT/INT/TERM trap, also when the script fails or a
# watchdog (weir_timeout) fires. It never touches interfaces it did not make.
#
# Node names are short words (a, b, c, gen, dut...). For node N:
#   namespace         weir-<PID>-N                     weir_ns N
#   interface to P    w<PID><n><x>  (<=15 chars)       weir_if N P
#   IPv4 address      10.77.<link>.<1|2>/24            weir_ip N P
#   MAC address       read from the interface          weir_mac N P
#
# Functions
#   weir_skip MSG...             print "SKIP: MSG" and exit 77 (meson: skipped)
#   weir_require_root            skip unless root (namespaces, veth, raw sockets)
#   weir_require_cmd CMD...      skip unless every CMD is in PATH
#   weir_require_veth            skip unless a veth pair can be created here
#   weir_topo_pair [opts] [A B]  nodes A B (default a b) joined by one veth pair
#   weir_topo_line [opts] N1 N2 [N3...]
#                                nodes in a line, a veth pair between neighbours;
#                                end nodes get a default route to their
#                                neighbour; inner nodes have ip_forward=1 unless
#                                -F (so the kernel forwards until weir takes the
#                                interfaces over)
#     options: -q N   N tx and rx queues on every veth (default 1)
#              -m MTU set the MTU of every veth
#              -n     no IPv4 addresses or routes
#              -6     keep IPv6 (default: disabled, so links stay quiet for
#                     byte-exact raw tests)
#              -F     no ip_forward on inner nodes (line only)
#              -o     keep the veths' TX checksum offload (default: off, so
#                     frames the kernel sends carry complete checksums when a
#                     weir port reads them from the ring; with offload on,
#                     TCP/UDP checksums of locally sent packets are partial)
#   weir_node_add N              an empty namespace for node N (topo_* call it)
#   weir_link_add [opts] N P     one veth pair between existing nodes N and P
#   weir_ns N                    namespace name of node N
#   weir_if N P                  name of N's interface facing P
#   weir_ip N P                  N's IPv4 address on the link to P (no /24)
#   weir_mac N P                 N's MAC on the link to P
#   weir_nsexec N CMD...         run CMD inside node N's namespace
#   weir_bg N CMD...             start CMD in node N's namespace in the
#                                background; its PID goes into $WEIR_BG_PID and
#                                it is killed (by PID) at cleanup
#   weir_kill PID                kill one background process (TERM, then KILL)
#   weir_timeout SECS            watchdog: after SECS the script gets SIGTERM,
#                                so cleanup still runs (exit code 124)
#   weir_run_to SECS CMD...      run CMD with `timeout -k 5 SECS`
#   weir_on_cleanup CMD          also run CMD (a string, eval'ed) at cleanup
#   weir_threaded_napi N P [CPU] threaded NAPI on N's interface to P, its
#                                kernel thread pinned to CPU when given (puts
#                                the veth receive work on that CPU)
#   weir_reap_stale              remove the namespaces of runs that died without
#                                cleaning up (SIGKILL): only names a run of this
#                                harness recorded, exactly, once nothing holds
#                                that run's lock and no process is inside them
#
# Each run that makes a namespace keeps a lock and a list of the namespaces
# it made in $WEIR_NETNS_RUN (default /run/weir-netns, root-only):
# <PID>.lock, flock-held by the run's shell and inherited by everything it
# starts, so it stays held while any of them lives (PID reuse and PID
# namespaces do not matter), and <PID>.ns, one name per line, written before
# each `ip netns add`. A namespace that looks like weir's but is on no list
# is never touched.
#   weir_cleanup                 what the trap runs; safe to call twice
#
# Environment: WEIR_NETNS_DEBUG=1 echoes every ip command.

[ -n "${WEIR_NETNS_SH:-}" ] && return 0
WEIR_NETNS_SH=1

WEIR_ID=$$
WEIR_NS_LIST=()
WEIR_BG_PIDS=()
WEIR_CLEANUP_CMDS=()
WEIR_WATCHDOG_PID=
WEIR_BG_PID=
WEIR_LINK_COUNT=0
WEIR_CLEANED=0
WEIR_NETNS_RUN=${WEIR_NETNS_RUN:-/run/weir-netns}
WEIR_LOCK_FD=
declare -A WEIR_IFNAME=() WEIR_IFADDR=()

weir_skip() {
	echo "SKIP: $*"
	exit 77
}

_weir_ip() {
	[ "${WEIR_NETNS_DEBUG:-0}" = 1 ] && echo "+ ip $*" >&2
	ip "$@"
}

weir_require_root() {
	[ "$(id -u)" = 0 ] || weir_skip "needs root (network namespaces, veth, raw sockets); run as root or under sudo"
}

weir_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || weir_skip "needs '$c' in PATH"
	done
}

# Takes this run's lock (once) and records ns in its list, before the caller
# creates it: a run killed in between leaves a name on the list and no
# namespace, which the reaper skips.
_weir_ns_record() {
	if [ -z "$WEIR_LOCK_FD" ]; then
		mkdir -p -m 0700 "$WEIR_NETNS_RUN" || return 1
		exec {WEIR_LOCK_FD}>>"$WEIR_NETNS_RUN/$WEIR_ID.lock" || return 1
		flock "$WEIR_LOCK_FD" || return 1
		# A list left by a dead run with our PID names what we make now.
		[ -f "$WEIR_NETNS_RUN/$WEIR_ID.ns" ] && _weir_reap_list "$WEIR_ID"
		: >"$WEIR_NETNS_RUN/$WEIR_ID.ns"
	fi
	echo "$1" >>"$WEIR_NETNS_RUN/$WEIR_ID.ns"
}

weir_require_veth() {
	local ns="weir-$WEIR_ID-probe"
	weir_require_root
	weir_require_cmd ip timeout flock
	_weir_ns_record "$ns" || weir_skip "cannot write $WEIR_NETNS_RUN (the list of namespaces made)"
	if ! ip netns add "$ns" 2>/dev/null; then
		weir_skip "cannot create network namespaces (ip netns add failed)"
	fi
	if ! ip -n "$ns" link add wprobe0 type veth peer name wprobe1 2>/dev/null; then
		ip netns del "$ns" 2>/dev/null
		weir_skip "veth is unavailable in this kernel (ip link add type veth failed)"
	fi
	ip netns del "$ns"
}

weir_ns() {
	echo "weir-$WEIR_ID-$1"
}

weir_if() {
	local k="$1,$2"
	[ -n "${WEIR_IFNAME[$k]:-}" ] || { echo "weir_if: no link between $1 and $2" >&2; return 1; }
	echo "${WEIR_IFNAME[$k]}"
}

weir_ip() {
	local k="$1,$2"
	[ -n "${WEIR_IFADDR[$k]:-}" ] || { echo "weir_ip: no address on $1 towards $2" >&2; return 1; }
	echo "${WEIR_IFADDR[$k]}"
}

weir_mac() {
	local ifn
	ifn=$(weir_if "$1" "$2") || return 1
	cat "/sys/class/net/$ifn/address" 2>/dev/null ||
		ip netns exec "$(weir_ns "$1")" cat "/sys/class/net/$ifn/address"
}

weir_nsexec() {
	local n="$1"
	shift
	ip netns exec "$(weir_ns "$n")" "$@"
}

weir_node_add() {
	local ns
	ns=$(weir_ns "$1")
	_weir_ns_record "$ns" || { echo "weir: cannot record $ns in $WEIR_NETNS_RUN" >&2; return 1; }
	_weir_ip netns add "$ns" || { echo "weir: cannot create namespace $ns" >&2; return 1; }
	WEIR_NS_LIST+=("$ns")
	_weir_ip -n "$ns" link set lo up
	if [ "${_WEIR_V6:-0}" != 1 ]; then
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	fi
}

# Parses the shared options into _WEIR_Q/_WEIR_MTU/_WEIR_NOADDR/_WEIR_V6/_WEIR_NOFWD;
# sets _WEIR_SHIFT to the number of words consumed.
_weir_opts() {
	_WEIR_Q=1 _WEIR_MTU= _WEIR_NOADDR=0 _WEIR_V6=0 _WEIR_NOFWD=0 _WEIR_OFFLOAD=0 _WEIR_SHIFT=0
	while [ $# -gt 0 ]; do
		case "$1" in
		-q) _WEIR_Q="$2"; shift 2; _WEIR_SHIFT=$((_WEIR_SHIFT + 2)) ;;
		-m) _WEIR_MTU="$2"; shift 2; _WEIR_SHIFT=$((_WEIR_SHIFT + 2)) ;;
		-n) _WEIR_NOADDR=1; shift; _WEIR_SHIFT=$((_WEIR_SHIFT + 1)) ;;
		-6) _WEIR_V6=1; shift; _WEIR_SHIFT=$((_WEIR_SHIFT + 1)) ;;
		-F) _WEIR_NOFWD=1; shift; _WEIR_SHIFT=$((_WEIR_SHIFT + 1)) ;;
		-o) _WEIR_OFFLOAD=1; shift; _WEIR_SHIFT=$((_WEIR_SHIFT + 1)) ;;
		--) shift; _WEIR_SHIFT=$((_WEIR_SHIFT + 1)); break ;;
		*) break ;;
		esac
	done
}

# weir_link_add [opts] N P: a veth pair, one end in each node's namespace,
# created directly inside them (never in the caller's namespace).
weir_link_add() {
	_weir_opts "$@"
	shift "$_WEIR_SHIFT"
	local n="$1" p="$2" l ifn ifp nsn nsp
	WEIR_LINK_COUNT=$((WEIR_LINK_COUNT + 1))
	l=$WEIR_LINK_COUNT
	ifn="w${WEIR_ID}${l}a"
	ifp="w${WEIR_ID}${l}b"
	if [ ${#ifn} -gt 15 ]; then
		ifn="w$((WEIR_ID % 1000000))${l}a"
		ifp="w$((WEIR_ID % 1000000))${l}b"
	fi
	nsn=$(weir_ns "$n")
	nsp=$(weir_ns "$p")
	_weir_ip -n "$nsn" link add "$ifn" numtxqueues "$_WEIR_Q" numrxqueues "$_WEIR_Q" type veth \
		peer name "$ifp" netns "$nsp" numtxqueues "$_WEIR_Q" numrxqueues "$_WEIR_Q" ||
		{ echo "weir: cannot create veth $ifn/$ifp" >&2; return 1; }
	WEIR_IFNAME["$n,$p"]=$ifn
	WEIR_IFNAME["$p,$n"]=$ifp
	if [ -n "$_WEIR_MTU" ]; then
		_weir_ip -n "$nsn" link set "$ifn" mtu "$_WEIR_MTU"
		_weir_ip -n "$nsp" link set "$ifp" mtu "$_WEIR_MTU"
	fi
	if [ "$_WEIR_OFFLOAD" != 1 ] && command -v ethtool >/dev/null 2>&1; then
		ip netns exec "$nsn" ethtool -K "$ifn" tx off >/dev/null 2>&1 || true
		ip netns exec "$nsp" ethtool -K "$ifp" tx off >/dev/null 2>&1 || true
	fi
	if [ "$_WEIR_NOADDR" != 1 ]; then
		WEIR_IFADDR["$n,$p"]="10.77.$l.1"
		WEIR_IFADDR["$p,$n"]="10.77.$l.2"
		_weir_ip -n "$nsn" addr add "10.77.$l.1/24" dev "$ifn"
		_weir_ip -n "$nsp" addr add "10.77.$l.2/24" dev "$ifp"
	fi
	_weir_ip -n "$nsn" link set "$ifn" up
	_weir_ip -n "$nsp" link set "$ifp" up
}

weir_topo_pair() {
	_weir_opts "$@"
	shift "$_WEIR_SHIFT"
	local a="${1:-a}" b="${2:-b}" q=$_WEIR_Q m=$_WEIR_MTU na=$_WEIR_NOADDR v6=$_WEIR_V6
	local -a o=(-q "$q")
	[ "$_WEIR_OFFLOAD" = 1 ] && o+=(-o)
	[ -n "$m" ] && o+=(-m "$m")
	[ "$na" = 1 ] && o+=(-n)
	[ "$v6" = 1 ] && o+=(-6)
	_WEIR_V6=$v6 weir_node_add "$a" && _WEIR_V6=$v6 weir_node_add "$b" && weir_link_add "${o[@]}" "$a" "$b"
}

weir_topo_line() {
	_weir_opts "$@"
	shift "$_WEIR_SHIFT"
	local q=$_WEIR_Q m=$_WEIR_MTU na=$_WEIR_NOADDR v6=$_WEIR_V6 nofwd=$_WEIR_NOFWD
	local -a o=(-q "$q") nodes=("$@")
	[ "$_WEIR_OFFLOAD" = 1 ] && o+=(-o)
	local i last=$(($# - 1))
	[ $# -ge 2 ] || { echo "weir_topo_line: needs at least two nodes" >&2; return 1; }
	[ -n "$m" ] && o+=(-m "$m")
	[ "$na" = 1 ] && o+=(-n)
	[ "$v6" = 1 ] && o+=(-6)
	for i in "${!nodes[@]}"; do
		_WEIR_V6=$v6 weir_node_add "${nodes[$i]}" || return 1
	done
	for ((i = 0; i < last; i++)); do
		weir_link_add "${o[@]}" "${nodes[$i]}" "${nodes[$((i + 1))]}" || return 1
	done
	[ "$na" = 1 ] && return 0
	if [ $# -gt 2 ]; then
		_weir_ip -n "$(weir_ns "${nodes[0]}")" route add default via \
			"$(weir_ip "${nodes[1]}" "${nodes[0]}")"
		_weir_ip -n "$(weir_ns "${nodes[$last]}")" route add default via \
			"$(weir_ip "${nodes[$((last - 1))]}" "${nodes[$last]}")"
		# Inner nodes: routes to every subnet beyond their neighbours.
		local j k
		for ((i = 1; i < last; i++)); do
			[ "$nofwd" = 1 ] ||
				weir_nsexec "${nodes[$i]}" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
			for ((j = 0; j < i - 1; j++)); do
				k=$((j + 1))
				_weir_ip -n "$(weir_ns "${nodes[$i]}")" route add \
					"$(weir_ip "${nodes[$j]}" "${nodes[$k]}" | sed 's/\.[0-9]*$/.0/')/24" \
					via "$(weir_ip "${nodes[$((i - 1))]}" "${nodes[$i]}")"
			done
			for ((j = i + 2; j <= last; j++)); do
				k=$((j - 1))
				_weir_ip -n "$(weir_ns "${nodes[$i]}")" route add \
					"$(weir_ip "${nodes[$j]}" "${nodes[$k]}" | sed 's/\.[0-9]*$/.0/')/24" \
					via "$(weir_ip "${nodes[$((i + 1))]}" "${nodes[$i]}")"
			done
		done
	fi
}

weir_bg() {
	local n="$1"
	shift
	ip netns exec "$(weir_ns "$n")" "$@" &
	WEIR_BG_PID=$!
	WEIR_BG_PIDS+=("$WEIR_BG_PID")
}

weir_kill() {
	local pid="$1" i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

weir_on_cleanup() {
	WEIR_CLEANUP_CMDS+=("$1")
}

# Stops the watchdog subshell first (so it cannot go on to fire when its
# sleep dies), then its sleep (found before, as it is reparented after).
_weir_watchdog_stop() {
	local kids
	[ -n "$WEIR_WATCHDOG_PID" ] || return 0
	kids=$(pgrep -P "$WEIR_WATCHDOG_PID" 2>/dev/null)
	kill -KILL "$WEIR_WATCHDOG_PID" 2>/dev/null
	[ -n "$kids" ] && kill $kids 2>/dev/null
	wait "$WEIR_WATCHDOG_PID" 2>/dev/null
	WEIR_WATCHDOG_PID=
	return 0
}

weir_timeout() {
	local secs="$1" me=$$
	_weir_watchdog_stop
	(
		trap - EXIT INT TERM
		sleep "$secs"
		echo "weir: watchdog: $0 still running after ${secs}s, stopping it" >&2
		# The shell runs its trap only once its foreground child ends:
		# stop the children first (by parent PID), then the shell.
		kill -TERM "$me" 2>/dev/null
		pkill -TERM -P "$me" 2>/dev/null
	) </dev/null >/dev/null &
	WEIR_WATCHDOG_PID=$!
}

weir_run_to() {
	local secs="$1"
	shift
	timeout -k 5 "$secs" "$@"
}

weir_threaded_napi() {
	local n="$1" p="$2" cpu="${3:-}" ifn pid
	ifn=$(weir_if "$n" "$p") || return 1
	weir_nsexec "$n" sh -c "echo 1 > /sys/class/net/$ifn/threaded" || return 1
	[ -n "$cpu" ] || return 0
	sleep 0.1
	for pid in $(pgrep -f "^napi/$ifn-" 2>/dev/null); do
		taskset -pc "$cpu" "$pid" >/dev/null 2>&1
	done
	return 0
}

# Deletes the namespaces on run $1's list, its lock held: names checked
# against the pattern weir_ns makes, each one existing and empty of processes.
_weir_reap_list() {
	local pid="$1" ns
	while read -r ns; do
		[[ "$ns" =~ ^weir-$pid-[a-z][a-z0-9]{0,15}$ ]] || continue
		ip netns list 2>/dev/null | awk '{print $1}' | grep -qxF "$ns" || continue
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || continue
		ip netns del "$ns" 2>/dev/null
	done <"$WEIR_NETNS_RUN/$pid.ns"
}

# The namespaces of run $1 (its PID), if the run is dead: its lock is free.
_weir_reap_run() {
	local lock="$WEIR_NETNS_RUN/$1.lock" fd
	[ -f "$lock" ] || return 0
	exec {fd}<"$lock" || return 0
	if ! flock -n "$fd"; then
		exec {fd}<&-
		return 0 # a live run (or something it started) holds it
	fi
	_weir_reap_list "$1"
	rm -f "$WEIR_NETNS_RUN/$1.ns" "$lock"
	exec {fd}<&-
}

weir_reap_stale() {
	local f pid
	for f in "$WEIR_NETNS_RUN"/*.ns; do
		[ -f "$f" ] || continue
		pid=${f##*/}
		pid=${pid%.ns}
		[[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" != "$WEIR_ID" ] || continue
		_weir_reap_run "$pid"
	done
}

weir_cleanup() {
	local rc=$? i
	[ "$WEIR_CLEANED" = 1 ] && return $rc
	WEIR_CLEANED=1
	trap - EXIT INT TERM
	# The watchdog's sleep holds our stderr open: stop it too (by PID).
	_weir_watchdog_stop
	for ((i = ${#WEIR_CLEANUP_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${WEIR_CLEANUP_CMDS[$i]}" || true
	done
	for i in "${WEIR_BG_PIDS[@]}"; do
		weir_kill "$i"
	done
	for ((i = ${#WEIR_NS_LIST[@]} - 1; i >= 0; i--)); do
		ip netns del "${WEIR_NS_LIST[$i]}" 2>/dev/null
	done
	# a probe namespace left by an interrupted weir_require_veth
	ip netns del "weir-$WEIR_ID-probe" 2>/dev/null
	if [ -n "$WEIR_LOCK_FD" ]; then
		rm -f "$WEIR_NETNS_RUN/$WEIR_ID.ns" "$WEIR_NETNS_RUN/$WEIR_ID.lock"
		exec {WEIR_LOCK_FD}>&-
		WEIR_LOCK_FD=
	fi
	return $rc
}

trap 'weir_cleanup' EXIT
trap 'echo "weir: interrupted, cleaning up" >&2; exit 130' INT
trap 'exit 124' TERM
