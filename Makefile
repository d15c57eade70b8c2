# Convenience targets; the scripts in tools/ do the work.
.PHONY: build test bench demo
build:
	swift build
test:
	tools/test
bench:
	tools/flipcall-bench
demo:
	tools/demo
