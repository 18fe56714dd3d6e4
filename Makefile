.PHONY: run test install package
# Install everything into .venv and start the app on its embedded models.
run:
	scripts/setup.sh
	.venv/bin/aiwebcam

# Install everything the tests need (system packages too, as root) and run the suite.
test:
	scripts/test.sh

install:
	scripts/setup.sh

# Build the desktop app: dist/aiwebcam/ (one folder), and on Linux a .tar.gz and a .deb in dist/.
package:
	scripts/package.sh
