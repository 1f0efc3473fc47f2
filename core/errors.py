"""Errors: one family, each named for what happened and carrying its HTTP status.

TierwiseError
├── NotFound (404): ClientNotFound, RunNotFound, ApprovalNotFound (also for another
│   │              advisor's records, so that ids cannot be probed), BatchNotFound,
│   │              PrincipalNotFound, LetterNotFound (a run with no letter yet)
│   ├── EvalNotFound                (core/services/evals.py)
│   ├── PriceImportNotFound         (core/services/price_imports.py)
│   └── CallbackNotFound            (core/services/callbacks.py)
├── Conflict (409): ApprovalAlreadyDecided, PlanHashMismatch, PlanNotApprovable,
│                   IdempotencyKeyReused, RunNotDelivered, RunBusy, ClientChanged,
│                   NotMeasurable, BatchCancelled, ReviewAlreadyClaimed (another on-duty
│                   advisor took the pool review first), NotInPool (the client has an advisor)
│   ├── OfferNotAcceptable, CoolingOffNotOver, OfferAlreadyAccepted
│   │                               (core/services/special_care.py)
│   └── CallbackAlreadyDone         (core/services/callbacks.py)
├── InvalidInput (422): InvalidDecision, InvalidClient, InvalidPrincipal (names the field)
│   └── InvalidPrices               (core/services/price_files.py): the bad lines, named
│       └── ImplausiblePrices       (core/services/price_gate.py): what the sanity gate
│                                   refuses unless an override gives its reason
├── Unauthorized (401), Forbidden (403), RateLimited (429)
│   └── Forbidden: AdvisorUnregistered, an advisor without a display name and registration
│                  number signing a plan off (a letter is signed by a person)
├── NotCommitted (503): the database did not confirm a commit
├── Unavailable (503): the database is busy or out of reach; retry shortly
└── UnsafeBind, UnsafeForwarding    (api/server.py): `tierwise serve` refuses to start on a
                                    public development secret, or with FORWARDED_ALLOW_IPS set

Every class without a module named above lives here.
"""

from __future__ import annotations


class TierwiseError(Exception):
    """Base of every error Tierwise raises on purpose."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def error(self) -> str:
        return type(self).__name__


class NotFound(TierwiseError):
    status_code = 404


class ClientNotFound(NotFound):
    pass


class RunNotFound(NotFound):
    pass


class ApprovalNotFound(NotFound):
    pass


class BatchNotFound(NotFound):
    pass


class LetterNotFound(NotFound):
    """The run has no letter yet: still running, or stopped before one was written."""


class Conflict(TierwiseError):
    status_code = 409


class ApprovalAlreadyDecided(Conflict):
    pass


class PlanHashMismatch(Conflict):
    pass


class ReviewAlreadyClaimed(Conflict):
    """Another on-duty advisor claimed the duty-pool review first."""


class NotInPool(Conflict):
    """The review is not in the duty pool: its client has an advisor, who decides it."""


class InvalidInput(TierwiseError):
    status_code = 422


class InvalidDecision(InvalidInput):
    pass


class InvalidClient(InvalidInput):
    pass


class InvalidPrincipal(InvalidInput):
    """A principal's display name, registration number or contact that a letter cannot carry."""


class PrincipalNotFound(NotFound):
    pass


class Unauthorized(TierwiseError):
    status_code = 401


class Forbidden(TierwiseError):
    status_code = 403


class AdvisorUnregistered(Forbidden):
    """An advisor without a display name and registration number may not sign a plan off."""


class PlanNotApprovable(Conflict):
    """The plan under review failed compliance; it can be revised or rejected, not approved."""


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key came back with a different request body."""


class RunNotDelivered(Conflict):
    """Feedback and outcomes are only for a delivered plan."""


class NotMeasurable(Conflict):
    """A delivered plan whose outcome cannot be measured yet: no prices after its as_of, or
    too short a period for the audience asked for."""


class ClientChanged(Conflict):
    """The client's record changed (or the assessment expired) since the plan was drafted."""


class BatchCancelled(Conflict):
    """A cancelled batch is not carried on: what it had not started stays cancelled."""


class RunBusy(Conflict):
    """Another worker holds this run's lease: one run is never executed twice at once."""


class RateLimited(TierwiseError):
    """Too many requests for this token; retry after the given number of seconds."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotCommitted(TierwiseError):
    """The database did not confirm the commit: never answered as a success."""

    status_code = 503


class Unavailable(TierwiseError):
    """The database is busy or out of reach: nothing was done, and a retry shortly may work."""

    status_code = 503
