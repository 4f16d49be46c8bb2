# The bot's production image: `docker build -t partner-onboarding-bot .` then run it with the same
# settings as App Service (NODE_ENV=production, DATABASE_URL, KEY_VAULT_URL, BOT_*, ...).
# NODE_VERSION follows package.json engines (Node 22.12+: pg-boss 12 and restify 12 need it).
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY cards ./cards
RUN npm run build

FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production PORT=3978
WORKDIR /app
COPY package.json package-lock.json ./
# Install scripts are off: the only one (botbuilder-dialogs) tidies files with a dev tool.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's own user, not root; DATA_DIR only matters with ALLOW_EMBEDDED_STORES.
USER node
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3978) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--disable-warning=DEP0111", "dist/src/index.js"]
