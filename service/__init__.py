"""The HTTP service: a JSON API and audit pages over `ledger.Ledger`.

from ledger import Ledger
from service import create_app
app = create_app(Ledger.open("status-ledger.db"))
"""

from ._app import create_app
from ._errors import BodyTooLarge, ErrorBody, Unauthenticated
from ._server import Limits, RepeatFilter, server_config
from ._tokens import ROLES, Principal, Role, TokenInfo, Tokens

__all__ = [
    "ROLES",
    "BodyTooLarge",
    "ErrorBody",
    "Limits",
    "Principal",
    "RepeatFilter",
    "Role",
    "TokenInfo",
    "Tokens",
    "Unauthenticated",
    "create_app",
    "server_config",
]
