"""When a judgement is a change of card: decided against the subject's own card stream.

A change is a different colour, or the same colour for a different set of reason codes (so the
recorded reasons stay true: a yellow for an overdue milestone that becomes a yellow for lagging
investment publishes again). New figures in the same reasons (one more day overdue) are no change.

A subject with no card stream is green without reasons: its first card is published only when
it is not green (a new subject starting green changes nothing), with ``previous`` None.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.reporting.cards.rules import Judgement
from shared.events.catalogue.reporting import Card, CardReason, CardSubject, SupervisionCardChanged


def card_stream(subject: CardSubject, subject_id: object) -> str:
    return f"card-{subject.value}-{subject_id}"


def change_of(judgement: Judgement, last: SupervisionCardChanged | None) -> SupervisionCardChanged | None:
    """The event to publish for ``judgement`` after the subject's ``last`` card, or None."""
    if last is None:
        if judgement.card is Card.green:
            return None
    elif last.card is judgement.card and _codes(last.reasons) == _codes(judgement.reasons):
        return None
    return SupervisionCardChanged(
        subject=judgement.subject,
        subject_id=judgement.subject_id,
        village_code=judgement.village_code,
        card=judgement.card,
        previous=last.card if last is not None else None,
        reasons=list(judgement.reasons),
        judged_on=judgement.judged_on,
    )


def _codes(reasons: Iterable[CardReason]) -> frozenset[str]:
    return frozenset(r.code for r in reasons)
