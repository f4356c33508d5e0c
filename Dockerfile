FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static assets (admin, Swagger UI, ReDoc) baked into the image; WhiteNoise serves them.
# A throwaway key for this one command: no key may be baked into the image (aurum.secretkey).
RUN SECRET_KEY="$(python -c "import secrets; print(secrets.token_urlsafe(64))")" \
    AURUM_ENV=dev DEBUG=0 python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 aurum && mkdir -p var && chown -R aurum var
USER aurum
EXPOSE 8000
# The server as deploy/systemd/aurum@.service runs it (see the Makefile's SERVE_FLAGS).
CMD ["uvicorn", "aurum.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--no-proxy-headers", "--no-access-log", "--no-server-header", \
     "--ws-per-message-deflate", "false", "--timeout-graceful-shutdown", "20"]
