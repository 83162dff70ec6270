"""Reading a contacts file's cells."""
import pytest

from contacts.importing import reading


@pytest.mark.parametrize(
    ("cell", "phones"),
    [
        ("", ()),
        ("  ", ()),
        (" 9201119613 ", ("+79201119613",)),
        ("9201119613;; 8 920 111 96 13,\n9204445566", ("+79201119613", "+79204445566")),
        (" ; ", ()),
        ("12", "'12' is not a phone number"),
        ("9201119613, 12", "'12' is not a phone number"),
    ],
)
def test_a_phones_cell_holds_any_number_of_numbers(cell, phones):
    assert reading._phones(cell, "RU") == phones
