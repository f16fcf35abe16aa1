FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install -r requirements.lock
COPY bot ./bot
COPY handlers ./handlers
COPY nlp ./nlp
COPY storage ./storage
RUN pip install --no-deps . && useradd --create-home huiyin
USER huiyin
# Migrate, then run (long polling by default; set HUIYIN_WEBHOOK_* and use `huiyin webhook`).
CMD ["sh", "-c", "huiyin db upgrade && huiyin run"]
