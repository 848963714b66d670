# Shell helpers that scripts/test and scripts/services.sh share. Source it.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# pg_bindir prints the directory of PostgreSQL's server programs (initdb,
# pg_ctl, postgres): Debian keeps them off PATH, in
# /usr/lib/postgresql/VERSION/bin. It prefers 15, then the newest.
pg_bindir() {
	local d
	for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null && dirname "$(command -v initdb)"
}

# found CMD: whether CMD is installed: on PATH or, for PostgreSQL's server
# programs, in pg_bindir.
found() {
	case $1 in
	initdb | pg_ctl | postgres) [ -n "$(pg_bindir)" ] ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# need CMD PACKAGE...: make sure CMD is found, installing the first of
# Debian's PACKAGEs that provides it when this runs as root.
apt_updated=
need() {
	local cmd=$1 pkg
	shift
	found "$cmd" && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		if [ -z "$apt_updated" ]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
			apt_updated=1
		fi
		for pkg in "$@"; do
			say "installing $pkg"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || continue
			found "$cmd" && return 0
		done
	fi
	die "$cmd is required: install it with: sudo apt-get install $1"
}

# use_tree_proxy DIR: point the go command at the module proxy of the
# working tree in DIR/proxy (built by tools/modproxy), with a module cache
# of its own in DIR/modcache. The go command never fetches a version it has
# cached again, so with the usual cache a second run would use the first
# run's copy of payhook's modules, not the working tree's; other modules
# come from the usual cache, read as a proxy, then the usual proxy.
use_tree_proxy() {
	local cache
	cache=$(go env GOMODCACHE)
	export GOPROXY="file://$1/proxy,file://$cache/cache/download,$(go env GOPROXY)"
	export GOMODCACHE="$1/modcache" GONOSUMDB=github.com/payhook GOWORK=off GOFLAGS="-mod=mod -modcacherw"
}
