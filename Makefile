.PHONY: run test install
# Install everything into .venv and start the app on its embedded models.
run:
	scripts/setup.sh
	.venv/bin/aiwebcam

# Install everything the tests need (system packages too, as root) and run the suite.
test:
	scripts/test.sh

install:
	scripts/setup.sh
