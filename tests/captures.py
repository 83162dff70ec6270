"""The PBX requests of the protocol document (`shared/pbx-protocol.md`), as sent on the wire."""

CALLID = "DVzqd2I5zmRev0vLvxVevw"

INCOMING = (
    b"access_code=10019&cmd=event&callid=DVzqd2I5zmRev0vLvxVevw&type=in&event=INCOMING"
    b"&ext=&phone=79201119613"
)
# The queue pickup capture belongs to another call (gZAoszZQZI_A6HDwYnKxPg) ...
ANSWERED_CAPTURE = (
    b"access_code=10019&cmd=event&callid=gZAoszZQZI_A6HDwYnKxPg&type=in&event=ANSWERED"
    b"&ext=100&phone=79201119613"
)
# ... so the story of one call uses it with the first call's id.
ANSWERED = ANSWERED_CAPTURE.replace(b"gZAoszZQZI_A6HDwYnKxPg", CALLID.encode())
COMPLETED = (
    b"cmd=event&status=Success&duration=16&event=COMPLETED&phone=79201119613"
    b"&access_code=10019&record_link=https%3A%2F%2Fvpbx18-dev%2Fui%2Fmsg_download%2F120"
    b"%2F10019%2Ff92H16GAUDE7R10EMOLYYw.mp3&callid=DVzqd2I5zmRev0vLvxVevw&ext=100"
)
CONTACT = b"access_code=10019&cmd=contact&phone=79201119613"
