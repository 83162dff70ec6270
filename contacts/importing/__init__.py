"""Importing contacts from a CSV file as Excel writes it (UTF-8 or Windows-1251, `,` or `;`):
the file's encoding (encoding.py), its rows read and checked (reading.py), each batch of rows
planned against what the database has (planning.py) and written (writing.py), by
import_contacts (service.py).

The header row names the columns, in any case and with any surrounding spaces; English or
Russian names are accepted:

    name         name, имя, фио
    company      company, компания, организация
    phones       phones, phone, телефоны, телефон   (several numbers: `,` `;` or newline)
    responsible  responsible, ответственный, extension, добавочный
    email        email, e-mail, почта

`name` and `phones` columns are required, the others optional; unknown columns are ignored.
A first line `sep=;` (an Excel hint) sets the delimiter, else the header line decides.

A row whose numbers include one already in the CRM updates that contact (the lowest id if
the numbers belong to several; a row without numbers matches by exact name and company): its
numbers are merged, and non-empty cells replace the stored values (an empty cell keeps what
the CRM has). Otherwise the row creates a contact, named after its company or first number
when the name cell is empty. Blank rows are ignored; bad rows are reported with their line
number and skipped, the other rows still land. Each data row is counted once: created,
updated, unchanged or skipped.

The rows are saved in batches, each in a transaction, with a few bulk queries, exactly as if
they were saved one by one.
"""
