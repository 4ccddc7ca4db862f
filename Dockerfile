# bxb for the production shape (docker-compose.yml): API and worker from one image.

# The web app's bundle, built with Node.js from the committed lockfile; the Python image
# below needs no Node.js (as a wheel install needs none).
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
COPY docs/openapi.json /src/docs/openapi.json
# Vite writes to ../bxb/webapp/dist, i.e. /src/bxb/webapp/dist.
RUN npm run build

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md worker.py ./
COPY bxb ./bxb
COPY --from=web /src/bxb/webapp/dist ./bxb/webapp/dist
RUN pip install --no-cache-dir -c constraints.txt ".[clickhouse]"
USER nobody
EXPOSE 8000
CMD ["bxb", "api"]
