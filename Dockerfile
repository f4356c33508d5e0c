FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static assets (admin, Swagger UI, ReDoc) baked into the image; WhiteNoise serves them.
RUN AURUM_ENV=dev DEBUG=0 python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 aurum && mkdir -p var && chown -R aurum var
USER aurum
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "aurum.asgi:application"]
