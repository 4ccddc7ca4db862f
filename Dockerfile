# bxb for the production shape (docker-compose.yml): API and worker from one image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md worker.py ./
COPY bxb ./bxb
RUN pip install --no-cache-dir -c constraints.txt ".[clickhouse]"
USER nobody
EXPOSE 8000
CMD ["bxb", "api"]
