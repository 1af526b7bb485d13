# The base image: Python 3.11 or newer with venv. A site that cannot pull the default
# builds one from Debian's packages (docker/base-image.sh) or names its own registry's:
#   docker build --build-arg BASE_IMAGE=passerelle-base:bookworm -t passerelle .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/passerelle/bin:$PATH

RUN useradd --create-home --uid 10001 --user-group passerelle \
    && mkdir -p /data /config \
    && chown passerelle:passerelle /data \
    && chmod 0700 /data \
    && python3 -m venv /opt/passerelle

# The pinned dependencies first, in a layer of their own: a change to the code reuses it.
COPY requirements.lock /tmp/requirements.lock
RUN pip install -r /tmp/requirements.lock && rm /tmp/requirements.lock

# Then the project alone, built with the pinned setuptools, without reaching PyPI.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY storage ./storage
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && cd / && rm -rf /src

USER passerelle
WORKDIR /data
VOLUME ["/data"]
# The folder of the default SQLite database (and of anything else the bot keeps on
# disk) when the configuration names none: a database.url in the config file, or
# PASSERELLE__DATABASE__URL, wins.
ENV PASSERELLE_DATA_DIR=/data

CMD ["passerelle", "run", "--config", "/config/config.yaml"]
