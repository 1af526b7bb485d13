FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 passerelle \
    && mkdir -p /data /config \
    && chown passerelle:passerelle /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY storage ./storage
RUN pip install --no-compile . && rm -rf /src

USER passerelle
WORKDIR /data
VOLUME ["/data"]
ENV PASSERELLE__DATABASE__URL=sqlite+aiosqlite:////data/passerelle.db

CMD ["passerelle", "run", "--config", "/config/config.yaml"]
