# Shortcuts for people who prefer make; `./dev` is the entry point the README documents.
.PHONY: demo test bench
demo:
	./dev demo
test:
	./dev test
bench:
	./dev bench
