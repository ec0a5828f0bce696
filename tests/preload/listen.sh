# SPDX-License-Identifier: MIT
# Sourced by the preload scripts that start a server of their own.
# wait_listening PORT PID: wait up to 5 s until 127.0.0.1:PORT accepts a connection, or until
# process PID (the server) has ended.
wait_listening() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
