# streamd on Debian 12 with Debian's FFmpeg (libx264, libsrt).
FROM node:20-bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/streamd
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY config ./config
# Build with dev dependencies (TypeScript), then drop them from the image.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

ENV NODE_ENV=production
VOLUME ["/opt/streamd/data"]
# RTMP ingest, HTTP (playlists, media, page, API, metrics)
EXPOSE 1935 8080 8890/udp
ENTRYPOINT ["./bin/streamd"]
CMD ["serve", "--config", "config/streamd.json"]
