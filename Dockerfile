# Collector image. The build stage runs the same `make build` as a developer machine and CI, so the
# image holds exactly the binary the tests exercised.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/otelcol-lineage /otelcol-lineage
COPY --from=build --chown=65532:65532 /out/data /var/lib/otelcol-lineage
# OTLP gRPC, OTLP HTTP, health check
EXPOSE 4317 4318 13133
ENV LINEAGE_OTLP_HOST=0.0.0.0 LINEAGE_HEALTH_ENDPOINT=0.0.0.0:13133 LINEAGE_DATA_DIR=/var/lib/otelcol-lineage
VOLUME ["/var/lib/otelcol-lineage"]
ENTRYPOINT ["/otelcol-lineage"]
