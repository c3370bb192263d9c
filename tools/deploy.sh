#!/usr/bin/env bash
# deploy.sh: installs AIFacade into DEST as releases switched by an atomic
# symlink swap, rolls back, and replaces one endpoint in the running release.
#
#   tools/deploy.sh release DEST [BUILD]          install the built tree as a new release, make it current
#   tools/deploy.sh rollback DEST                 make the previous release current (again: roll forward)
#   tools/deploy.sh endpoint DEST NAME [BINARY]   replace one endpoint program in the current release
#   tools/deploy.sh endpoint-rollback DEST NAME   put back the program that `endpoint` replaced
#   tools/deploy.sh status DEST                   show the current, previous and kept releases
#   tools/deploy.sh pack FILE [BUILD]             write the release as a .tar.gz bundle for another host
#   tools/deploy.sh stage DEST [BUILD]            install a new release without switching; prints its id
#   tools/deploy.sh switch DEST ID [PREVIOUS]     make release ID current (previous: the old current, or PREVIOUS)
#
# `pack` writes the same tree a release holds; unpacked on the host, its own
# tools/deploy.sh stages it (tools/deploy-remote.sh does both over SSH).
#
# Layout of DEST:
#   releases/<id>/    a complete tree: build/cgi-bin, build/tools, www, tools,
#                     lighttpd.conf (+ lighttpd.release.conf), Caddyfile, RELEASE, SHA256SUMS;
#                     FAILED (the reason) when tools/deploy-remote.sh rolled it back
#   current -> releases/<id>    what lighttpd serves: AIFACADE_ROOT=DEST/current
#   previous -> releases/<id>   what rollback returns to
#   instance/         database and secret key, shared by every release (each links to it)
#   .env              optional settings, shared the same way
#   deploy.log        one line per change
#
# Nothing is ever written into place: a release is assembled under a
# temporary name and renamed; links and programs are replaced by rename(2),
# so a request sees the old file or the new one, never half of one.
# KEEP (default 5) releases are kept, plus the current and previous ones.
# AIFACADE_COMMIT names the commit when the source is not a git checkout.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
keep=${KEEP:-5}

die() { echo "deploy: $*" >&2; exit 1; }
usage() {
  sed -n '5,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# lock DEST: one change at a time; waits up to 60 s for another deploy.
lock() {
  # tools/deploy-remote.sh holds the lock for a whole deploy and calls us.
  [ "${AIFACADE_DEPLOY_LOCK_HELD:-}" != "$1" ] || return 0
  exec 9>>"$1/.deploy.lock"
  flock -w 60 9 || die "another deploy holds $1/.deploy.lock; wait for it and retry"
}

note() { # DEST message...
  local dest=$1; shift
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$dest/deploy.log"
  echo "deploy: $*"
}

# swap_link DEST NAME TARGET: points DEST/NAME at TARGET by rename(2).
swap_link() {
  local tmp="$1/.$2.tmp.$$"
  rm -f "$tmp"
  ln -s "$3" "$tmp"
  mv -T "$tmp" "$1/$2"
}

# target_of DEST NAME: the release a link names ("" when none).
target_of() {
  if [ -L "$1/$2" ]; then readlink "$1/$2"; fi
}

dest_dir() { # DEST [create]: the absolute DEST; only a release creates one
  [ -n "${1:-}" ] || usage
  if [ -n "${2:-}" ]; then
    mkdir -p "$1/releases"
  elif [ ! -d "$1/releases" ]; then
    die "nothing is deployed in $1; run 'make deploy DEST=$1' first"
  fi
  (cd "$1" && pwd)
}

is_elf() {
  [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# commit_id: the commit this tree was built from: a bundle's RELEASE file,
# AIFACADE_COMMIT, or git ("-dirty" with uncommitted changes).
commit_id() {
  local commit
  if [ -n "${AIFACADE_COMMIT:-}" ]; then
    commit=$AIFACADE_COMMIT
  elif [ -f "$src/RELEASE" ]; then
    commit=$(sed -n 's/^commit //p' "$src/RELEASE")
  else
    commit=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [ "$commit" != unknown ] && [ -n "$(git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
      commit="$commit-dirty"
    fi
  fi
  [[ "$commit" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "commit name '${commit}' is not letters, digits, '.', '_' or '-'"
  echo "$commit"
}

build_dir() { # BUILD argument: the absolute build directory, checked
  local build=${1:-${AIFACADE_BUILD:-build}}
  [[ "$build" = /* ]] || build=$src/$build
  if [ ! -x "$build/cgi-bin/health" ] || [ ! -x "$build/tools/aifacadectl" ]; then
    die "no built programs in $build; run 'make all' first (or 'make deploy DEST=...')"
  fi
  echo "$build"
}

# assemble STAGE BUILD COMMIT ID: fills the empty directory STAGE with a release tree.
assemble() {
  local stage=$1 build=$2 commit=$3 id=$4 f
  mkdir -p "$stage/build/cgi-bin" "$stage/build/tools" "$stage/tools"
  for f in "$build"/cgi-bin/*; do
    if [ ! -f "$f" ] || [ ! -x "$f" ] || [[ "$f" == *.tmp ]]; then continue; fi
    cp -p "$f" "$stage/build/cgi-bin/"
  done
  cp -p "$build/tools/aifacadectl" "$stage/build/tools/"
  cp -R "$src/www" "$stage/www"
  cp -p "$src/lighttpd.conf" "$src/Caddyfile" "$stage/"
  [ ! -f "$src/.env.example" ] || cp -p "$src/.env.example" "$stage/"
  cp -p "$src/tools/cgi-env.sh" "$src/tools/container-start.sh" "$src/tools/deploy.sh" \
    "$src/tools/deploy-remote.sh" "$src/tools/smoke.sh" "$stage/tools/"
  cat >"$stage/lighttpd.release.conf" <<'EOC'
# lighttpd.release.conf: written by tools/deploy.sh. The project's lighttpd.conf,
# for a release served through the DEST/current symlink: lighttpd.conf refuses
# symlinks anywhere in a path, and current is one by design; and lighttpd's stat
# cache would serve the old release's files for a second after a swap. Run
# lighttpd with AIFACADE_ROOT=DEST/current (tools/container-start.sh picks this file).
include env.AIFACADE_ROOT + "/lighttpd.conf"
server.follow-symlink := "enable"
# Without a stat cache a swap of current shows in the very next request.
server.stat-cache-engine := "disable"
EOC
  {
    echo "release $id"
    echo "commit $commit"
    echo "created $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "source $src"
    echo "build $build"
  } >"$stage/RELEASE"
  (cd "$stage" && sha256sum build/cgi-bin/* build/tools/*) >"$stage/SHA256SUMS"
  # Readable by the server's user whatever our umask; never writable by it.
  chmod -R u=rwX,go=rX "$stage"
}

# stage_release DEST [BUILD]: installs a new release beside the others
# without touching current; sets $staged to its id.
stage_release() {
  local dest build
  dest=$(dest_dir "${1:-}" create)
  build=$(build_dir "${2:-}")
  lock "$dest"
  if [ ! -d "$dest/instance" ]; then
    mkdir -m 0700 "$dest/instance"
  fi
  # Leftovers of a deploy that was killed (we hold the lock: none is running).
  rm -rf "$dest/releases/".incoming.*

  local commit id stage
  commit=$(commit_id)
  id="$(date -u +%Y%m%dT%H%M%SZ)-$commit"
  local n=1 base=$id
  while [ -e "$dest/releases/$id" ]; do id="$base.$n"; n=$((n + 1)); done

  stage=$(mktemp -d "$dest/releases/.incoming.XXXXXX")
  # shellcheck disable=SC2064  # expand now: the stage's name is fixed
  trap "rm -rf '$stage'" EXIT
  assemble "$stage" "$build" "$commit" "$id"
  # A bundle's RELEASE names the machine it was packed on; say so.
  if [ -f "$src/RELEASE" ]; then
    sed -n 's/^\(created\|source\|build\) /packed-&/p' "$src/RELEASE" >>"$stage/RELEASE"
  fi
  ln -s ../../instance "$stage/instance"
  ln -s ../../.env "$stage/.env"
  sync -f "$stage/RELEASE"
  mv -T "$stage" "$dest/releases/$id"
  trap - EXIT
  staged=$id
}

# switch_to DEST ID [PREVIOUS]: current -> releases/ID; previous -> the old
# current, or PREVIOUS ("-": leave previous as it is).
switch_to() {
  local dest=$1 id=$2 prev=${3:-} old
  [ -d "$dest/releases/$id" ] || die "there is no release $id in $dest/releases; 'tools/deploy.sh status $dest' lists them"
  old=$(target_of "$dest" current)
  swap_link "$dest" current "releases/$id"
  if [ -n "$prev" ] && [ "$prev" != - ]; then
    [ -d "$dest/releases/$prev" ] || die "there is no release $prev in $dest/releases"
    swap_link "$dest" previous "releases/$prev"
  elif [ -z "$prev" ] && [ -n "$old" ] && [ "$old" != "releases/$id" ]; then
    swap_link "$dest" previous "$old"
  fi
  prev=$(target_of "$dest" previous)
  note "$dest" "release $id is current${prev:+ (previous: ${prev#releases/})}"
}

release() {
  local dest staged=""
  stage_release "$@"
  dest=$(dest_dir "$1")
  switch_to "$dest" "$staged"
  prune "$dest"
}

stage() {
  local dest staged=""
  stage_release "$@" >&2
  dest=$(dest_dir "$1")
  note "$dest" "release $staged is installed (not current)" >&2
  echo "$staged"
}

switch() {
  local dest
  dest=$(dest_dir "${1:-}")
  [ -n "${2:-}" ] || usage
  [[ "$2" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "release id '$2' is not one of the names under $dest/releases"
  if [ -n "${3:-}" ] && [ "$3" != - ] && ! [[ "$3" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]; then
    die "release id '$3' is not one of the names under $dest/releases"
  fi
  lock "$dest"
  switch_to "$dest" "$2" "${3:-}"
}

# pack FILE [BUILD]: the release tree as a gzip'd tar, for stage on another host.
pack() {
  local out=${1:-} build commit tmp
  [ -n "$out" ] || usage
  build=$(build_dir "${2:-}")
  commit=$(commit_id)
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now
  trap "rm -rf '$tmp'" EXIT
  assemble "$tmp" "$build" "$commit" "bundle-$commit"
  # gzip -1: the programs carry debug symbols; the fastest level halves them
  # all the same, in a fraction of the time of the default level.
  tar -C "$tmp" -cf - . | gzip -1 >"$out.tmp"
  mv -f "$out.tmp" "$out"
  rm -rf "$tmp"
  trap - EXIT
  echo "deploy: packed commit $commit from $build into $out ($(du -k "$out" | cut -f1) KiB)"
}

# prune DEST: removes releases beyond the KEEP newest, never current or previous.
prune() {
  local dest=$1 cur prev r kept=0
  cur=$(target_of "$dest" current); prev=$(target_of "$dest" previous)
  while IFS= read -r r; do
    [ -n "$r" ] || continue
    if [ "releases/$r" = "$cur" ] || [ "releases/$r" = "$prev" ]; then continue; fi
    kept=$((kept + 1))
    if [ "$kept" -gt "$keep" ]; then
      rm -rf "${dest:?}/releases/$r"
      note "$dest" "removed old release $r"
    fi
  done < <(find "$dest/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort -r)
}

rollback() {
  local dest cur prev
  dest=$(dest_dir "${1:-}")
  lock "$dest"
  cur=$(target_of "$dest" current)
  prev=$(target_of "$dest" previous)
  [ -n "$cur" ] || die "nothing is deployed in $dest; run 'make deploy DEST=$dest' first"
  [ -n "$prev" ] || die "$dest has no previous release to roll back to"
  [ -d "$dest/$prev" ] || die "the previous release $dest/$prev is gone; deploy the version you want instead"
  swap_link "$dest" current "$prev"
  swap_link "$dest" previous "$cur"
  note "$dest" "rolled back: ${prev#releases/} is current (previous: ${cur#releases/})"
}

# endpoint DEST NAME [BINARY]: copies BINARY (default: the built one) beside
# the release's program under a temporary name, keeps the old one in
# <release>/replaced/NAME, then renames the new one into place.
endpoint() {
  local dest name bin rel dir tmp sum
  dest=$(dest_dir "${1:-}")
  name=${2:-}
  [[ "$name" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "endpoint name '${name}' is not a program name like chat or health"
  bin=${3:-$src/${AIFACADE_BUILD:-build}/cgi-bin/$name}
  if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then die "$bin is not an executable file; run 'make' first"; fi
  is_elf "$bin" || die "$bin is not a compiled program (no ELF header)"
  [ -L "$dest/current" ] || die "nothing is deployed in $dest; run 'make deploy DEST=$dest' first"
  lock "$dest"
  rel=$(cd "$dest/current" && pwd -P)
  dir=$rel/build/cgi-bin
  tmp=$dir/.$name.new.$$
  # shellcheck disable=SC2064  # expand now
  trap "rm -f '$tmp'" EXIT
  cp "$bin" "$tmp"
  chmod 0755 "$tmp"
  sync "$tmp"
  if [ -e "$dir/$name" ]; then
    mkdir -p "$rel/replaced"
    ln -f "$dir/$name" "$rel/replaced/.$name.tmp.$$"
    mv -f -T "$rel/replaced/.$name.tmp.$$" "$rel/replaced/$name"
  else
    echo "deploy: $name is a new endpoint in ${rel##*/}"
  fi
  mv -f -T "$tmp" "$dir/$name"
  trap - EXIT
  sum=$(sha256sum "$dir/$name" | cut -c1-12)
  note "$dest" "endpoint $name replaced in ${rel##*/} from $bin (sha256 $sum)"
}

endpoint_rollback() {
  local dest name rel
  dest=$(dest_dir "${1:-}")
  name=${2:-}
  [ -n "$name" ] || usage
  [ -L "$dest/current" ] || die "nothing is deployed in $dest"
  rel=$(cd "$dest/current" && pwd -P)
  [ -f "$rel/replaced/$name" ] || die "no replaced program $name in ${rel##*/}; roll back the whole release with 'make rollback DEST=$dest'"
  endpoint "$dest" "$name" "$rel/replaced/$name"
}

status() {
  local dest cur prev r mark
  [ -d "${1:-}" ] || die "${1:-DEST} is not a deployment directory"
  dest=$(cd "$1" && pwd)
  cur=$(target_of "$dest" current); prev=$(target_of "$dest" previous)
  echo "current:  ${cur:-none}"
  echo "previous: ${prev:-none}"
  while IFS= read -r r; do
    mark=" "
    [ "releases/$r" != "$cur" ] || mark="*"
    [ "releases/$r" != "$prev" ] || mark="-"
    if [ -f "$dest/releases/$r/FAILED" ]; then
      echo "$mark $r  (rolled back: $(head -c 200 "$dest/releases/$r/FAILED" | head -1))"
    else
      echo "$mark $r"
    fi
  done < <(find "$dest/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort -r)
}

case "${1:-}" in
  release) shift; release "$@" ;;
  rollback) shift; rollback "$@" ;;
  endpoint) shift; [ $# -ge 2 ] || usage; endpoint "$@" ;;
  endpoint-rollback) shift; [ $# -eq 2 ] || usage; endpoint_rollback "$@" ;;
  status) shift; status "$@" ;;
  pack) shift; pack "$@" ;;
  stage) shift; stage "$@" ;;
  switch) shift; switch "$@" ;;
  prune) shift; prune "$(dest_dir "${1:-}")" ;;  # what release does after a switch; deploy-remote.sh calls it
  *) usage ;;
esac
