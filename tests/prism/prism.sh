# Prism (Stoplight's mock server, installed by tests/node's package.json) serving Twilio's and
# Stripe's official OpenAPI files on 127.0.0.1, for the contract tests: every request a test sends is
# validated against the files. Source it, then prism_start / prism_stop. prism_start exports
# TOLLGATE_TEST_PRISM_<NAME>=http://127.0.0.1:<port> for each mock.
PRISM=${PRISM:-$PWD/tests/node/node_modules/.bin/prism}
TWILIO_OAI=${TWILIO_OAI:-$PWD/../shared/twilio-oai}
STRIPE_OAI=${STRIPE_OAI:-$PWD/../shared/stripe-openapi}

_prism_free_port() {  # first free port from $1
  local p
  for p in $(seq "$1" $(($1 + 200))); do
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
  echo "no free port for Prism" >&2
  return 1
}

_prism_one() {  # NAME spec-file first-port
  local port
  port=$(_prism_free_port "$3") || return 1
  [ -f "$2" ] || { echo "prism: no OpenAPI file $2" >&2; return 1; }
  "$PRISM" mock -h 127.0.0.1 -p "$port" "$2" >"$PRISM_DIR/$1.log" 2>&1 &
  echo $! >>"$PRISM_DIR/pids"
  export "TOLLGATE_TEST_PRISM_$1=http://127.0.0.1:$port"
  echo "Prism on 127.0.0.1:$port serving $(basename "$2")"
}

prism_start() {
  PRISM_DIR=$(mktemp -d /tmp/tollgate-prism.XXXXXX)
  export PRISM_DIR
  _prism_one PRICING_V1 "$TWILIO_OAI/twilio_pricing_v1.json" 4610 || return 1
  _prism_one PRICING_V2 "$TWILIO_OAI/twilio_pricing_v2.json" 4660 || return 1
  _prism_one STRIPE "$STRIPE_OAI/stripe_billing_subset.json" 4710 || return 1
  _prism_one TWILIO_API "$TWILIO_OAI/twilio_api_v2010.json" 4760 || return 1
  # Ready when each says it listens (one to a few seconds each); a bounded wait, like pg_ctl -w.
  local log tries
  for log in "$PRISM_DIR"/*.log; do
    for tries in $(seq 600); do
      grep -q "Prism is listening" "$log" && break
      [ "$tries" -eq 600 ] && { echo "prism: not listening after 60 s:" >&2; cat "$log" >&2; return 1; }
      sleep 0.1
    done
  done
}

prism_stop() {
  [ -n "${PRISM_DIR:-}" ] || return 0
  [ -f "$PRISM_DIR/pids" ] && kill $(cat "$PRISM_DIR/pids") 2>/dev/null || true
  rm -rf "$PRISM_DIR"
}
