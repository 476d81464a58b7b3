# aoa: one OpenAI-compatible endpoint in front of one LLM upstream, configured by env vars.
#   docker build -t aoa .
#   docker run --rm -p 8080:8080 -e AOA_TYPE=mock aoa
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md aoa.py ./
COPY providers ./providers
# Optional extras, e.g. `--build-arg AOA_EXTRAS=redis` for shared state (AOA_REDIS_URL).
ARG AOA_EXTRAS=""
RUN pip install ".${AOA_EXTRAS:+[$AOA_EXTRAS]}" && rm -rf /src

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin aoa
USER aoa
WORKDIR /

ENV AOA_HOST=0.0.0.0 \
    AOA_PORT=8080
EXPOSE 8080

# The slim image has no curl; Python is there anyway.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AOA_PORT', '8080'), timeout=2).status == 200 else 1)"]

# SIGTERM lets in-flight streams finish (AOA_SHUTDOWN_GRACE seconds) before exit.
STOPSIGNAL SIGTERM
CMD ["aoa"]
