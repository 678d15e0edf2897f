# The server as a small image: built in a full Rust image, run from a slim Debian one as a
# user without privileges. `docker compose up` (compose.yaml) runs it with PostgreSQL.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin shangju \
 && strip target/release/shangju

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/shangju --create-home shangju
COPY --from=build /src/target/release/shangju /usr/local/bin/shangju
USER shangju
WORKDIR /var/lib/shangju
ENV SHANGJU_ENV=production \
    SHANGJU_BIND=0.0.0.0:8000
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/shangju"]
CMD ["serve"]
