# auditor as a container: `docker run --rm -v ~/.aws:/home/auditor/.aws:ro auditor scan --profile prod`.
# Small (slim base, wheel only, no build tools in the final image), non-root, base pinned to an exact tag.
FROM python:3.11.14-slim-trixie AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY auditor ./auditor
COPY checks ./checks
COPY reports ./reports
RUN python -m pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .

FROM python:3.11.14-slim-trixie
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl \
    && useradd --system --uid 10001 --create-home --home-dir /home/auditor auditor
USER 10001:10001
WORKDIR /home/auditor
ENTRYPOINT ["auditor"]
CMD ["--help"]
