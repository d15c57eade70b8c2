# Convenience targets; the scripts in tools/ do the work.
.PHONY: build test bench
build:
	swift build
test:
	tools/test
bench:
	tools/flipcall-bench
