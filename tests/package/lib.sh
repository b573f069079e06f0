# Shared by the package tests (sourced, not run).

fail() { echo "FAIL: $*" >&2; exit 1; }

# Waits for something other processes do (systemd starting a unit, a batch
# being acked), polling until a deadline: eventually SECONDS COMMAND...
eventually() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# The highest seq attestd acknowledged, from an agent's spool cursor (0: none):
# spool_acked SPOOL_DIR
spool_acked() {
  local f
  f=$(ls "$1"/cursor-* 2>/dev/null | head -1)
  [ -n "$f" ] && tr -dc 0-9 <"$f" || echo 0
}

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
