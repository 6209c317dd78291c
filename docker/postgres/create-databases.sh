#!/bin/sh
# Runs once, when the postgres volume is first initialised: POSTGRES_DB (Prefect's database) exists
# already; create MLflow's beside it, owned by the same user.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -c "CREATE DATABASE \"${MLFLOW_DB}\" OWNER \"${POSTGRES_USER}\";"
