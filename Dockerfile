# One image for web, worker and migrations. The web image stays light (no torch, no CUDA);
# the worker image adds the model libraries with:  --build-arg EXTRAS=models,quantization
# PyPI's Linux torch wheels bundle the CUDA runtime, so the base stays python:3.11-slim; the
# host needs only the NVIDIA driver and the NVIDIA Container Toolkit.
FROM python:3.11-slim

ARG EXTRAS=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    MEDTRIAGE_INSTANCE_PATH=/app/instance

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so that a code change does not
# reinstall torch (gigabytes) on every build.
COPY pyproject.toml ./
RUN python -c "import os, tomllib; \
p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
extras = [e.strip() for e in os.environ.get('EXTRAS', '').split(',') if e.strip()]; \
unknown = [e for e in extras if e not in p['optional-dependencies']]; \
assert not unknown, f'unknown extras {unknown}'; \
reqs = p['dependencies'] + [r for e in extras for r in p['optional-dependencies'][e]]; \
open('/tmp/requirements.txt', 'w').write(chr(10).join(reqs) + chr(10))" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself (see .dockerignore for what stays out).
COPY . .
RUN pip install --no-deps .

# The instance folder (SQLite, generated secret key, gunicorn's control socket) is the
# service user's alone: 0700.
RUN useradd --create-home --uid 10001 --user-group medtriage \
    && install -d -m 0700 -o medtriage -g medtriage /app/instance
USER medtriage

EXPOSE 5000
CMD ["medtriage", "web"]
