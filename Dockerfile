# Image for docker-compose.yml (untested here: no Docker engine on the development machines).
FROM python:3.11-slim
WORKDIR /app
ENV STATIC_ROOT=/app/static PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY contentlib contentlib
COPY crawlers crawlers
COPY recommender recommender
COPY ads ads
RUN pip install -U pip && pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu && pip install -e .
COPY . .
# Static files are part of the image: compressed, with hashed names, served by WhiteNoise from gunicorn.
# The key here only lets settings load for this one command; it is not the image's key.
RUN SECRET_KEY=only-for-collectstatic-at-build-time DATA_DIR=/tmp/build python manage.py collectstatic --noinput -v0
EXPOSE 8000
CMD ["gunicorn", "contentlib.config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "60", "--access-logfile", "-"]
