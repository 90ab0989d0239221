"""The one error type for sensor input that cannot be used."""


class InvalidInput(ValueError):
    """A message was rejected: it is malformed, inconsistent or unsupported.

    ``kind`` is a short stable key for counting and rate-limiting (e.g. ``"encoding"``,
    ``"size"``); the message says what is wrong in words a user can act on.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
