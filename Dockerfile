# Production image: no embedded servers, no test tools.
FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml ./
COPY app ./app
COPY schema ./schema
COPY workers ./workers
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .  # editable: `ecom migrate` reads migrations/ beside app/
USER nobody
