"""``limits.max_cost``: stop sending once spent plus in-flight cost would pass the cap.

Each request reserves its estimated cost (:func:`evalkit.cost.estimate_request`, with
``max_tokens`` as the output) before it is sent and settles to the real cost when it returns.
Once a request does not fit, no further request is sent in this run; cached answers are free
and still served.
"""

from __future__ import annotations

from evalkit.config import Price
from evalkit.cost import estimate_request, usage_cost
from evalkit.errors import BudgetExhausted
from evalkit.records import Request, Usage

__all__ = ["Budget"]


class Budget:
    """Tracks spent and reserved cost against a cap."""

    def __init__(self, cap: float, price: Price, model: str, *, high_resolution: bool) -> None:
        self.cap = cap
        self.price = price
        self.model = model
        self.high_resolution = high_resolution
        self.spent = 0.0
        self.reserved = 0.0
        self.exhausted = False

    def reserve(self, request: Request) -> float:
        """Reserve the request's estimated cost, or raise :class:`BudgetExhausted`."""
        usage = estimate_request(request, self.model, high_resolution=self.high_resolution)
        estimate = usage_cost(usage, self.price) or 0.0
        if self.exhausted or self.spent + self.reserved + estimate > self.cap:
            self.exhausted = True
            raise BudgetExhausted(
                f"limits.max_cost={self.cap:g} {self.price.currency} reached "
                f"(spent {self.spent:.4f}, in flight {self.reserved:.4f}): not sent"
            )
        self.reserved += estimate
        return estimate

    def settle(self, reserved: float, usage: Usage | None) -> None:
        """Release a reservation and add what the answer really cost (0 when it failed)."""
        self.reserved -= reserved
        if usage is not None:
            self.spent += usage_cost(usage, self.price) or reserved
