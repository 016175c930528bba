# One image for every Textcast process: `textcast bot` (the default), `textcast worker` and
# `textcast db upgrade` (compose.yaml runs all three).
#
# 3.11: the Python requirements/app.lock was resolved and CI tests with. Every package in it has
# a manylinux wheel, so nothing is compiled and no compiler is needed in either stage.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# A virtualenv without pip or setuptools: the base image's pip installs into it, so the runtime
# image carries no installer or build backend. Same path in both stages: scripts' shebangs use it.
RUN python -m venv --without-pip /opt/textcast
# The lock file alone first, so a code change reuses this layer. --only-binary: a package that
# would need compiling fails here, by name, instead of half-building without a compiler.
COPY requirements/app.lock /tmp/app.lock
RUN pip --python /opt/textcast/bin/python install --only-binary=:all: -r /tmp/app.lock
COPY . /src
RUN pip --python /opt/textcast/bin/python install --no-deps /src

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PATH=/opt/textcast/bin:$PATH
# A numeric UID, so an orchestrator's "run as non-root" check can verify it without /etc/passwd.
RUN useradd --uid 10001 --user-group --create-home textcast
COPY --from=build /opt/textcast /opt/textcast
USER 10001:10001
# Writable, so the default SQLite DATABASE_URL (./textcast.db) works in a quick `docker run`.
WORKDIR /home/textcast
EXPOSE 3000
# No HEALTHCHECK here: the worker runs from this image too and serves no HTTP. compose.yaml
# checks the web process's /healthz.
CMD ["textcast", "bot"]
