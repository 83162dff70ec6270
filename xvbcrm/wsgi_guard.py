"""Django's WSGI handler, made to survive a Content-Type it cannot parse.

Django builds the request (`WSGIRequest.__init__`) before any middleware or view runs, and
there `HttpRequest._set_content_type_params` lets two kinds of header raise ValueError:

* a charset with a NUL (`charset=utf\\x008`): `codecs.lookup` raises "embedded null
  character", where Django only expects the LookupError of an unknown charset;
* an RFC 2231 parameter in a charset Python does not know (`a*=bogus''%41`):
  `parse_header_parameters` refuses it with ValueError.

Either way the server answers a bare 500 and the webhook never sees (nor journals) the
request. Here the charset is then ignored as Django ignores an unknown one, or an unparsable
header is taken for no Content-Type; `request.META["CONTENT_TYPE"]` stays as sent, so the
webhook answers it by its own rules (an unknown charset: 400 with a JSON error, journaled).
"""
from django.core.handlers import wsgi


class WSGIRequest(wsgi.WSGIRequest):
    def _set_content_type_params(self, meta: dict) -> None:
        try:
            super()._set_content_type_params(meta)
        except ValueError:
            # Set by now unless the header itself did not parse; the encoding is left
            # unset: settings.DEFAULT_CHARSET.
            if not hasattr(self, "content_params"):
                self.content_type, self.content_params = "", {}


class WSGIHandler(wsgi.WSGIHandler):
    request_class = WSGIRequest
