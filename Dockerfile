# The axe controller image. Build where a registry is reachable:
#   docker build -t axe .
# (Not buildable on the lab machine itself: it has no registry for node:20.)
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
# Install scripts run: better-sqlite3 (the controller's history) builds its native binding here.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* && useradd --create-home --uid 10001 axe
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/examples ./examples
USER axe
ENV AXE_HOME=/home/axe/.axe NODE_ENV=production NODE_OPTIONS=--max-semi-space-size=2
EXPOSE 9464
ENTRYPOINT ["node", "/app/bin/axe.js"]
CMD ["controller"]
