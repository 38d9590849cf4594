# The frontend image: the web UI and the session proxy, without any model code.
#   docker build -t scenario6-frontend .
# Every FROM is a build argument, so a locally made or mirrored base works:
#   docker build --build-arg BASE_IMAGE=registry.example/python:3.12-slim .
# Debian-based images with python3 and python3-venv are expected (useradd, python3 -m venv).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# A venv, also because Debian's system Python refuses pip installs (PEP 668).
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml requirements.lock ./
# Dependencies first, from pyproject's own list pinned by the lock file: this layer stays
# cached while only the source changes. Only the telemetry extra (OpenTelemetry, used when
# OTEL_EXPORTER_OTLP_ENDPOINT is set): no torch, no codecs, no aiohttp.
# Python 3.10 has no tomllib: its forerunner tomli (the locked one) reads pyproject.toml there.
RUN if ! /opt/venv/bin/python -c "import tomllib" 2>/dev/null; then \
      /opt/venv/bin/pip install -q -c requirements.lock tomli; fi \
 && /opt/venv/bin/python -c "import sys; toml = __import__('tomllib' if sys.version_info >= (3, 11) else 'tomli'); p = toml.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['telemetry']))" > deps.txt \
 && /opt/venv/bin/pip install -c requirements.lock -r deps.txt
COPY README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip uninstall -y -q pip setuptools tomli \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} +

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --no-log-init --home-dir /app --create-home \
      --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_HOST=0.0.0.0 \
    APP_PORT=8010
WORKDIR /app
USER app
EXPOSE 8010
# Slim images have no curl. The probe asks where APP_HOST/APP_PORT say the server listens
# (loopback for a wildcard), over HTTPS when a certificate is configured.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-c", "import os, ssl, urllib.request as u; e = os.environ.get; h = e('APP_HOST') or '0.0.0.0'; h = '127.0.0.1' if h in ('0.0.0.0', '::') else f'[{h}]' if ':' in h else h; s = 'https' if e('APP_SSL_CERTFILE') else 'http'; u.urlopen(f'{s}://{h}:{e(\"APP_PORT\") or 8010}/health', timeout=4, context=ssl._create_unverified_context())"]
CMD ["scenario6", "frontend"]
