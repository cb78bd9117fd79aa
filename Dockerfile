# syntax=docker/dockerfile:1
#
# torrix in a container.
#
#   docker build -t torrix .
#   docker run --rm -v "$PWD/torrents:/torrents:ro" -v "$PWD/downloads:/downloads" \
#       -p 6881:6881 -e METAINFO_PATH=/torrents/file.torrent torrix
#
# Environment (see docker/entrypoint.sh): METAINFO_PATH (required),
# DOWNLOAD_DIR=/downloads, LISTEN=0.0.0.0:6881, SEEDS (comma separated),
# MODE=download|seed. Extra arguments are appended to the command line; a
# torrix subcommand as the first argument runs it directly:
#   docker run --rm torrix bench --size 1G

FROM rust:1-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# Cache the registry and the target directory between builds; the binary is
# copied out of the cache mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p torrix-cli \
    && install -D -m 0755 target/release/torrix /out/torrix

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin torrix \
    && mkdir /downloads \
    && chown torrix:torrix /downloads
COPY --from=builder /out/torrix /usr/local/bin/torrix
COPY docker/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
USER torrix
WORKDIR /downloads
VOLUME ["/downloads"]
EXPOSE 6881/tcp
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
