# aoa: one OpenAI-compatible endpoint in front of one LLM upstream, configured by env vars.
#   docker build -t aoa .
#   docker run --rm -p 8080:8080 -e AOA_TYPE=mock aoa
# The image installs the built wheel, as users' `pip install` does; the install and healthcheck
# steps are scripts in .ci/ that CI also runs outside Docker (.ci/run).

FROM python:3.12-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The whole (.dockerignore-filtered) tree: a new package can never be left out of the build.
COPY . .
RUN pip wheel --no-deps -w /dist .

FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY --from=wheel /dist /tmp/dist
COPY .ci/image-install.sh .ci/healthcheck.py /opt/aoa/
# Optional extras, e.g. `--build-arg AOA_EXTRAS=redis` for shared state (AOA_REDIS_URL).
ARG AOA_EXTRAS=""
RUN sh /opt/aoa/image-install.sh /tmp/dist python "$AOA_EXTRAS" && rm -rf /tmp/dist

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin aoa
USER aoa
WORKDIR /

ENV AOA_HOST=0.0.0.0 \
    AOA_PORT=8080
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "/opt/aoa/healthcheck.py"]

# SIGTERM lets in-flight streams finish (AOA_SHUTDOWN_GRACE seconds) before exit.
STOPSIGNAL SIGTERM
CMD ["aoa"]
