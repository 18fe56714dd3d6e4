"""AI Webcam: talk face to face with an AI."""

__version__ = "0.1.0"
APP_NAME = "aiwebcam"
