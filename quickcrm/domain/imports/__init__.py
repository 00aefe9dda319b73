"""CSV import of leads, and of companies with their contacts (docs/import.md, "Import").

- ``detect``: the file's encoding and delimiter, and reading it into rows.
- ``mapping``: what each column becomes, guessed from its header, and checking a mapping.
- ``rows``: one row cleaned into a lead (or a company and contact), or refused with a reason;
  the duplicate keys; cells made safe for a spreadsheet.
- ``run``: the upload stored in chunks, the import in batches (resumable, each row at most
  once), the report, undo.
- ``ahead``: the helper process that cleans the next chunk while a batch is written.

Transactions: unlike the rest of quickcrm/domain, which flushes and leaves the commit to
its caller, ``run`` owns its transactions — storing an upload, starting an import, each
batch (the unit an import resumes from) and an undo commit themselves
(docs/architecture.md, "Transactions").
"""
