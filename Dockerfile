# syntax=docker/dockerfile:1
# Stage 1 builds the front end with Node; stage 2 is a slim Python image with the CPU
# torch wheel. The steps are the README's (npm ci, npm run build, pip install, blocklab serve).
# For NVIDIA GPUs:  docker build --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 \
#                     --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
ARG BASE_IMAGE=python:3.11-slim

FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM ${BASE_IMAGE} AS app
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Extras: interchange (ONNX import/export, Keras export), postgres (DATABASE_URL), ray
# (BLOCKLAB_RUNNER); compose passes BLOCKLAB_EXTRAS.
ARG EXTRAS=postgres,interchange
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BLOCKLAB_STATIC_DIR=/app/frontend/dist BLOCKLAB_DATA_DIR=/data
# CUDA base images ship without Python; slim images already have it. The distro's python3
# is whatever that base ships, so it is not pinned here.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
      && rm -rf /var/lib/apt/lists/*; fi \
    && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN pip install --index-url "${TORCH_INDEX}" torch==2.13.0
COPY pyproject.toml README.md ./
COPY backend/ backend/
# The project itself, whose own pins (torch==2.13.0 ...) live in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install ".[${EXTRAS}]"
COPY --from=frontend /src/frontend/dist /app/frontend/dist
RUN useradd --create-home --uid 10001 blocklab && mkdir -p /data && chown blocklab /data
USER 10001
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/blocks', timeout=4)"]
# Inside a container the app must listen beyond loopback; publish the port to choose who reaches it.
CMD ["blocklab", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
