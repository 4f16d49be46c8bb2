# Node 22 LTS, 22.12 or later (package.json engines; pg-boss 12 and restify 12 need it).
#   source scripts/use-node22.sh
# When the node on PATH is older, the official binary comes from the npm registry (the package
# node-linux-<arch>, the only network this needs), unpacked into .ci/node22 under the project
# (git-ignored; reused next time) and put first on PATH for this shell; npm itself runs on it from
# there. With a recent enough node it changes nothing. .ci/run sources it first.
use_node22_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)' 2>/dev/null; }
use_node22() {
  use_node22_ok && return 0
  local root arch dir tarball
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "no Node 22 package for $(uname -m)" >&2; return 1 ;;
  esac
  dir="$root/.ci/node22"
  if [ ! -x "$dir/bin/node" ] || ! PATH="$dir/bin:$PATH" use_node22_ok; then
    echo "== node $(node --version 2>/dev/null || echo missing) is older than 22.12: installing Node 22 LTS (npm registry, node-linux-${arch}@22)" >&2
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    tarball="$(cd "$dir" && npm pack "node-linux-${arch}@22" --silent --loglevel=error </dev/null | tail -1)" || return 1
    tar -xzf "$dir/$tarball" -C "$dir" --strip-components=1 package/bin/node || return 1
    rm -f "$dir/$tarball"
  fi
  export PATH="$dir/bin:$PATH"
  use_node22_ok || { echo "Node 22.12+ could not be installed" >&2; return 1; }
}
use_node22
