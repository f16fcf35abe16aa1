# The production image: runtime dependencies only (requirements.lock), a non-root user, a data
# volume for SQLite, and the bot itself as PID 1 so SIGTERM reaches it (no shell in between).
# Migrations are not run here: `huiyin db upgrade` is a one-off step (docker-compose.yml has a
# `migrate` service the bot waits for), so several replicas never migrate at once.
# The console's charts: Apache ECharts from its npm package (not kept in git), built here.
# The base images can be swapped for a mirror or a local copy (`--build-arg PYTHON_IMAGE=…`).
ARG NODE_IMAGE=node:20-slim
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${NODE_IMAGE} AS echarts
WORKDIR /assets
COPY bot/web/vendor_echarts.sh web/vendor_echarts.sh
RUN mkdir -p web/static && sh web/vendor_echarts.sh

FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    HUIYIN_DATABASE_URL=sqlite+aiosqlite:////data/huiyin.db \
    HUIYIN_OPS_LISTEN=0.0.0.0:8080 \
    HUIYIN_HEARTBEAT_FILE=/tmp/huiyin.heartbeat
WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY nlp ./nlp
COPY storage ./storage
COPY --from=echarts /assets/web/static/ ./bot/web/static/
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 huiyin \
    && mkdir -p /data && chown huiyin:huiyin /data
VOLUME ["/data"]
USER huiyin
EXPOSE 8080
# GET /readyz on the bot's own server: in polling mode HUIYIN_OPS_LISTEN (which also serves
# /healthz and /metrics), in webhook mode the webhook listener; both on port 8080 here.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["huiyin", "check"]
STOPSIGNAL SIGTERM
CMD ["huiyin", "run"]
