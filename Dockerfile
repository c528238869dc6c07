# syntax=docker/dockerfile:1
# Clearline: one image for the four services and the migrations; docker-compose.yml
# and infra/k8s choose what runs with the command, e.g.
#   node -r tsconfig-paths/register dist/services/gateway/src/main.js
#   node -r tsconfig-paths/register dist/scripts/migrate.js
# tsconfig-paths maps the @clearline/* imports onto dist/ (TS_NODE_BASEURL=./dist).

# ---------------------------------------------------------------------------- build
FROM node:22-bookworm-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.base.json tsconfig.build.json ./
COPY libs ./libs
COPY services ./services
COPY scripts ./scripts
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# -------------------------------------------------------------------------- runtime
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TS_NODE_BASEURL=./dist
WORKDIR /app

# Owned by root and read-only for the service user.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json /app/tsconfig.json /app/tsconfig.base.json ./

USER node
EXPOSE 3000 3001 3002 3003
CMD ["node", "-r", "tsconfig-paths/register", "dist/services/gateway/src/main.js"]
