# syntax=docker/dockerfile:1
# Build stage: compile the release binary with the locked dependencies.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin crm \
 && strip target/release/crm

# Runtime stage: a small Debian image with CA certificates, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/crm --create-home crm
COPY --from=build /src/target/release/crm /usr/local/bin/crm
USER crm
WORKDIR /var/lib/crm
ENV CRM_BIND=0.0.0.0:8080 \
    CRM_DATA_DIR=/var/lib/crm/data \
    CRM_LOG_FORMAT=json
VOLUME ["/var/lib/crm/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/crm"]
CMD ["serve"]
