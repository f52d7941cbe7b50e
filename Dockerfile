# syntax=docker/dockerfile:1

# carecast gateway image. Build: docker build -t carecast .
# The image defaults to NODE_ENV=production, so it refuses to start until it is given its
# production configuration (see .env.example); docker-compose.yml runs it in development.

ARG NODE_IMAGE=node:24-bookworm-slim
# swagger-ui-dist (under @nestjs/swagger) pulls in @scarf/scarf, whose install script reports
# installs over the network unless told not to.
ARG SCARF_ANALYTICS=false

# 1. Compile TypeScript with the full dependency set.
FROM ${NODE_IMAGE} AS build
ARG SCARF_ANALYTICS
ENV SCARF_ANALYTICS=${SCARF_ANALYTICS}
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
ARG SCARF_ANALYTICS
ENV SCARF_ANALYTICS=${SCARF_ANALYTICS}
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# 3. Runtime: compiled code + production dependencies, owned by root and read-only to the
#    app; only ./data (dev secrets, audit log) is writable by the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data/audit && chown -R node:node /app/data
USER node
# 8443: public HTTPS/WSS listener. 9090: internal listener; never publish it publicly.
EXPOSE 8443 9090
# main.ts drains on SIGTERM (not ready, stop accepting, close sessions, close Redis).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
