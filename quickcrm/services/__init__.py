"""Processes and periodic work beside the app's requests, each with one entry point: the
OCR process (``ocr``, ``python -m quickcrm.services.ocr``) and the housekeeping scheduler
(``scheduler``). The import's cleaning helper is a process pool of the import engine
itself (``domain/imports/ahead.py``)."""
