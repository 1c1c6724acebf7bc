# Image for docker-compose.yml (untested here: no Docker engine on the development machines).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contentlib contentlib
COPY crawlers crawlers
COPY recommender recommender
COPY ads ads
RUN pip install -U pip && pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu && pip install -e .
COPY . .
