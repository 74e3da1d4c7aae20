# The bot image: webhook workers, the round sender and one-off commands (rssbot ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY scoring ./scoring
COPY storage ./storage
COPY locales ./locales
RUN pip install . && useradd --create-home --uid 10001 rssbot

USER rssbot
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["rssbot"]
CMD ["run", "--webhook", "--host", "0.0.0.0", "--port", "8080"]
