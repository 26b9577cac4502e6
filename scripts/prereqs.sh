#!/usr/bin/env bash
# Makes sure the services the suite needs are there. Under CI a missing piece is installed or the run
# fails; on a developer machine it is installed when we are root, else the tests that need it skip.
set -euo pipefail
in_ci=false
case "${CI:-}" in 1|true|TRUE|yes) in_ci=true ;; esac

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_up; then
  echo "prereqs: PostgreSQL is not answering on 127.0.0.1:5432; starting the cluster"
  if [ "$(id -u)" = 0 ] && ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  if ! pg_up; then
    echo "prereqs: PostgreSQL could not be started" >&2
    $in_ci && exit 1
  fi
fi

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "prereqs: installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    echo "prereqs: chromium is missing" >&2
    $in_ci && exit 1
  fi
fi
# --- Java for the Spark engine (carenav.analytics.engines.spark_engine; PySpark needs a JRE 17+) ---
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "prereqs: installing Debian's openjdk-17-jre-headless for the Spark engine"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  if ! command -v java >/dev/null 2>&1; then
    echo "prereqs: java is missing (the Spark engine tests need it)" >&2
    $in_ci && exit 1
  fi
fi
# --- end of the Java block ---
echo "prereqs: PostgreSQL and Chromium are ready"
