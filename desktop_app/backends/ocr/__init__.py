"""Text readers (OCR): the text in the user's camera or screen, for models that cannot see."""
