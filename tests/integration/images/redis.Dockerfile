# Test stand-in for the published redis:7-alpine (no registry here): Debian's redis-server on
# the local test base, a /data folder its user owns, the same command line.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* && mkdir /data && chown redis:redis /data
USER redis
WORKDIR /data
CMD ["redis-server"]
