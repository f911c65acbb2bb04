# sre-agent: `sre-agent serve` (HTTP alert endpoint + Slack bot) with the bundled Kubernetes and
# Prometheus MCP servers, which run inside the same process.
#
#   docker build -t sre-agent .
#   docker run --rm -p 8080:8080 -e SRE_AGENT_HTTP_TOKEN=$(openssl rand -hex 32) sre-agent --no-slack
#
# Dependencies come only from the hash-pinned lock files; nothing is resolved at build time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel of this project, and a virtual environment from requirements.lock -------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# The build backend (hatchling) is pinned, with hashes, in the dev lock.
COPY requirements.lock requirements-dev.lock ./
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps -r requirements-dev.lock \
 && python -m venv /opt/sre-agent \
 && /opt/sre-agent/bin/pip install --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY agent ./agent
COPY bot ./bot
COPY mcp_bridge ./mcp_bridge
COPY runbooks ./runbooks
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/sre-agent/bin/pip install --no-deps /wheels/sre_agent-*.whl \
 && /opt/sre-agent/bin/python -m compileall -q /opt/sre-agent

# --- runtime: the environment only, as a non-root user -----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="sre-agent" \
      org.opencontainers.image.description="Investigates production alerts like a careful on-call engineer"

RUN groupadd --system --gid 10001 sre-agent \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/sre-agent \
      --shell /usr/sbin/nologin sre-agent \
 && mkdir -p /var/lib/sre-agent \
 && chown 10001:10001 /var/lib/sre-agent

COPY --from=build /opt/sre-agent /opt/sre-agent

# Listening on all interfaces requires SRE_AGENT_HTTP_TOKEN (serve refuses to start otherwise).
# The store is SQLite under /var/lib/sre-agent unless SRE_AGENT_DATABASE_URL names PostgreSQL.
ENV PATH=/opt/sre-agent/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/sre-agent \
    SRE_AGENT_HTTP_HOST=0.0.0.0 \
    SRE_AGENT_HTTP_PORT=8080 \
    SRE_AGENT_DATABASE_URL=sqlite+aiosqlite:////var/lib/sre-agent/sre-agent.db

USER 10001:10001
WORKDIR /var/lib/sre-agent
VOLUME ["/var/lib/sre-agent"]
EXPOSE 8080

# /healthz needs no token. Python's standard library only: the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('SRE_AGENT_HTTP_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["sre-agent", "serve"]
CMD []
