# ntpagent — see README.md.
GO       ?= go
BIN      := bin
PKGS     := ./...
# The whole suite stays well under 20 minutes on a 2-core machine.
TEST_TIMEOUT ?= 15m

.PHONY: all gen build test unit run bench lint deps clean

all: build

## gen: regenerate gen/ from the YANG modules with the pinned ygot generator
gen:
	$(GO) generate ./gen

## build: the daemon and the simulator into bin/. The daemon is linked
## statically (no cgo: Go's own resolver and user lookups), so that no C
## library is mapped into it: 1.8 MiB less resident memory.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ntpagent ./cmd/ntpagent
	$(GO) build -trimpath -o $(BIN)/ntpsim ./cmd/ntpsim

## deps: install the Debian programs the tests drive (idempotent)
deps:
	scripts/install-test-deps.sh

## lint: gofmt check and go vet (also for darwin: the program builds off Linux)
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)

## test: install what the tests need, lint, then every test layer (unit,
## fuzz seed corpora, simulation, in-process integration, interop with real
## peers, network namespaces)
# The real-path lab (internal/wirelab) measures microseconds on the host's
# own clock and network stack: it runs after the other packages, alone, so
# that their load is not part of what it measures.
REALPATH := ./internal/wirelab
test: deps lint
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $$($(GO) list $(PKGS) | grep -vx 'github.com/ntpagent/ntpagent/internal/wirelab')
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(REALPATH)

## unit: the fast loop, about a minute on 2 cores: go test -short (no root,
## no network namespaces, no Debian tools; testtool.Require/RequireRoot and
## the long tests skip under -short)
unit:
	$(GO) test -short -count=1 $(PKGS)

## run: build and start the agent with its embedded defaults
run: build
	$(BIN)/ntpagent

## bench: benchmarks against netconfd and chronyd in the same run; prints a table
bench: build
	scripts/install-test-deps.sh --bench
	scripts/bench.sh

clean:
	rm -rf $(BIN)
