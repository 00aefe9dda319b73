"""Processes and periodic work beside the app's requests, each with one entry point: the
OCR process (``ocr``, ``python -m quickcrm.services.ocr``) and the scheduler (``scheduler``:
the thread in each app server that runs the periodic jobs). The import's cleaning helper is
a process pool of the import engine itself (``domain/imports/ahead.py``)."""
