#!/bin/sh
# Entrypoint of every container of the image (web, workers, beat):
#   1. refuse to start while a secret still holds its .env.example placeholder;
#   2. wait for PostgreSQL (DATABASE_WAIT_SECONDS, default 60);
#   3. run `manage.py migrate` when RUN_MIGRATIONS=1 (set on one service only, so two
#      containers never migrate at once);
#   4. exec the command, so it runs as PID 1's child under `init` and gets signals.
set -eu

for name in DJANGO_SECRET_KEY FIELD_ENCRYPTION_KEYS BLIND_INDEX_KEY AUDIT_HMAC_KEY DATABASE_URL METRICS_TOKEN; do
    eval "value=\${$name:-}"
    case "$value" in
        *CHANGE_ME*)
            echo "entrypoint: $name still holds the placeholder from .env.example;" \
                 "generate real values (see the comments in docker/.env.example)." >&2
            exit 64
            ;;
    esac
done

python - <<'PYTHON'
import os
import sys
import time

import django
from django.db import connection
from django.db.utils import OperationalError

django.setup()
deadline = time.monotonic() + float(os.environ.get("DATABASE_WAIT_SECONDS", "60"))
while True:
    try:
        connection.ensure_connection()
        break
    except OperationalError as error:
        if time.monotonic() > deadline:
            sys.exit(f"entrypoint: the database did not answer in time: {error}")
        print("entrypoint: waiting for the database...", file=sys.stderr, flush=True)
        time.sleep(1)
connection.close()
PYTHON

case "${RUN_MIGRATIONS:-0}" in
    1|true|yes|on)
        python manage.py migrate --no-input
        python manage.py ensure_periodic_tasks
        ;;
esac

exec "$@"
