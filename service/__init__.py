"""The HTTP service: a JSON API and audit pages over `ledger.Ledger`.

from ledger import Ledger
from service import create_app
app = create_app(Ledger.open("status-ledger.db"))
"""

from ._app import create_app
from ._errors import BodyTooLarge, ErrorBody, Unauthenticated
from ._tokens import ROLES, Principal, Role, TokenInfo, Tokens

__all__ = [
    "ROLES",
    "BodyTooLarge",
    "ErrorBody",
    "Principal",
    "Role",
    "TokenInfo",
    "Tokens",
    "Unauthenticated",
    "create_app",
]
