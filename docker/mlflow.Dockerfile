# syntax=docker/dockerfile:1.7
# The MLflow tracking server of docker/compose.yaml: the official image plus the PostgreSQL driver
# (backend store) and boto3 (artifacts in MinIO over S3), run as an unprivileged user.
#   docker build -f docker/mlflow.Dockerfile -t labelops-mlflow:3.17.2 docker
ARG MLFLOW_IMAGE=ghcr.io/mlflow/mlflow:v3.17.2

FROM ${MLFLOW_IMAGE} AS build
RUN python -m venv --system-site-packages /opt/drivers \
    && /opt/drivers/bin/pip install --no-cache-dir "psycopg2-binary==2.9.13" "boto3==1.44.5"

FROM ${MLFLOW_IMAGE} AS runtime
COPY --from=build /opt/drivers /opt/drivers
ENV PATH=/opt/drivers/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MLFLOW_DISABLE_TELEMETRY=true
RUN groupadd --system --gid 10001 mlflow \
    && useradd --system --uid 10001 --gid mlflow --home-dir /home/mlflow --create-home --shell /usr/sbin/nologin mlflow
USER mlflow:mlflow
WORKDIR /home/mlflow
# `python -m mlflow`: the venv's python sees both mlflow (system site-packages) and the drivers.
CMD ["python", "-m", "mlflow", "server", "--help"]
