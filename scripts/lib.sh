# Shell helpers that scripts/test and scripts/services.sh share. Source it.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/%s: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# need CMD PACKAGE...: make sure CMD exists, installing the first of Debian's
# PACKAGEs that installs when this runs as root.
apt_updated=
need() {
	local cmd=$1 pkg
	shift
	command -v "$cmd" >/dev/null && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		if [ -z "$apt_updated" ]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
			apt_updated=1
		fi
		for pkg in "$@"; do
			say "installing $pkg"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || continue
			command -v "$cmd" >/dev/null && return 0
		done
	fi
	die "$cmd is required: install it with: sudo apt-get install $1"
}
