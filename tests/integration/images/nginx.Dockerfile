# Test stand-in for the published balancer's nginx:1.27-alpine (no registry here): Debian's
# nginx on the local test base, the same conf.d layout, no default server.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light wget \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
    && ln -sf /dev/stderr /var/log/nginx/error.log && ln -sf /dev/stdout /var/log/nginx/access.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
