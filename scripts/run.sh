#!/usr/bin/env bash
# README command 1: install what is needed, build, and run tollgated in the foreground on the
# embedded SQLite storage, with its state under ./.state. Ctrl-C stops it.
#
# With TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set (or [twilio] account_sid in
# conf/tollgate.ini), it sends through Twilio. Without them it runs in SANDBOX MODE: it starts tollgate-twilio-sim (docs/twilio-sim.md) on loopback, with an
# account of its own, and points the daemon at it; nothing reaches a phone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
state="$PWD/.state"
mkdir -p "$state"
chmod 700 "$state"
port=${TOLLGATE_PORT:-8080}
ctl="build/bin/tollgatectl --admin-key-file $state/admin.key --url http://127.0.0.1:$port"
twilio=()

if grep -Eq '^[[:space:]]*account_sid[[:space:]]*=' conf/tollgate.ini; then
  mode="sending through Twilio as configured in conf/tollgate.ini"
elif [[ -n "${TWILIO_ACCOUNT_SID:-}" && -n "${TWILIO_AUTH_TOKEN:-}" ]]; then
  (umask 077 && printf '%s\n' "$TWILIO_AUTH_TOKEN" > "$state/twilio-token")
  twilio=(-D twilio.account_sid="$TWILIO_ACCOUNT_SID" -D twilio.auth_token_file="$state/twilio-token")
  mode="sending through Twilio as $TWILIO_ACCOUNT_SID"
else
  # The sandbox account: made once, kept with the state.
  if [[ ! -s "$state/sandbox-account" ]]; then
    (umask 077 && printf 'AC%s\n' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
      > "$state/sandbox-account" &&
      od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$state/sandbox-token")
  fi
  account=$(cat "$state/sandbox-account")
  rm -f "$state/sim.port"
  build/bin/tollgate-twilio-sim --listen 127.0.0.1:0 --port-file "$state/sim.port" \
    --account "$account:$(cat "$state/sandbox-token")" --callback-delay-ms 500 &
  sim=$!
  trap 'kill "$sim" 2>/dev/null || true' EXIT
  for _ in $(seq 1 200); do
    [[ -s "$state/sim.port" ]] && break
    kill -0 "$sim" 2>/dev/null || { echo "tollgate-twilio-sim did not start" >&2; exit 1; }
    sleep 0.05
  done
  [[ -s "$state/sim.port" ]] || { echo "tollgate-twilio-sim did not start" >&2; exit 1; }
  sim_url="http://127.0.0.1:$(cat "$state/sim.port")"
  twilio=(-D twilio.account_sid="$account" -D twilio.auth_token_file="$state/sandbox-token"
    -D twilio.api_base_url="$sim_url")
  mode="SANDBOX MODE: no Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN), so
messages go to the Twilio simulator at $sim_url and nothing reaches a phone"
fi

cat <<EOT

Tollgate is starting on http://127.0.0.1:$port (state in $state).
$mode.

  health:     curl http://127.0.0.1:$port/readyz
  a tenant:   $ctl tenant create "My Company"
  its number: $ctl number attach <tenant id> +15005550006 --sms sms-keywords
  its key:    $ctl key issue <tenant id>
  as tenant:  curl -H "Authorization: Bearer <key>" http://127.0.0.1:$port/v1/tenant
  send:       $ctl send <tenant id> --to +14155550111 --body "Hello" --wait
EOT
if [[ -n "${sim_url:-}" ]]; then
  cat <<EOT
  or:         curl -H "Authorization: Bearer <key>" -H "Content-Type: application/json" \\
                -d '{"to": "+14155550111", "body": "Hello"}' http://127.0.0.1:$port/v1/messages
  inbound:    curl $sim_url/sim/inbound -d Url=http://127.0.0.1:$port/twilio/sms \\
                -d AccountSid=$account --data-urlencode From=+14155550111 \\
                --data-urlencode To=+15005550006 -d Body=HELP
EOT
fi
echo
build/sbin/tollgated --config conf/tollgate.ini \
  -D daemon.state_dir="$state" -D server.listen="127.0.0.1:$port" "${twilio[@]}"
