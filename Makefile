# voxd — the two commands: `make demo` (see it work) and `make test` (all tests).
# Both start by installing the Debian packages the build needs, if missing.

SWIFT ?= swift
APT_PACKAGES := libespeak-ng-dev espeak-ng-data libsqlite3-dev libcurl4-openssl-dev libssl-dev curl
RELEASE_BIN := .build/release
DEBUG_BIN := .build/debug

.PHONY: demo test run bench bench-deps deps pydeps build build-debug clean check-config

demo: deps build
	scripts/demo.sh $(RELEASE_BIN)

test: deps pydeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

run: deps build
	$(RELEASE_BIN)/voxd

check-config: build
	$(RELEASE_BIN)/voxd --check-config

bench: deps bench-deps
	$(SWIFT) build -c release
	$(RELEASE_BIN)/VoxBench

# The LiteLLM proxy for the gateway comparison (PyPI); only the benchmarks need it.
bench-deps:
	@command -v litellm >/dev/null 2>&1 || python3 -m pip install -q -r bench/requirements.txt

build:
	$(SWIFT) build -c release

build-debug:
	$(SWIFT) build

# Installs what is missing (root, or sudo when available).
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

# The OpenAI Python SDK, for the test that drives voxd with it unchanged.
pydeps:
	@python3 -c "import openai, httpx, websockets" 2>/dev/null || python3 -m pip install -q -r Tests/requirements.txt

clean:
	rm -rf .build
