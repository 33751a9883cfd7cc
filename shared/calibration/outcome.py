"""The critical outcome a site's model learns: admitted to HDU or ICU, died in the department
or within 30 days after (a clinician's follow-up), or - if the site says so - admitted at all.
Never the clinician's override: that would teach the model the clinicians' habits."""

from __future__ import annotations

from shared.db.models import Case, Disposition, FollowUp, LevelOfCare

CRITICAL_CARE = (LevelOfCare.HDU, LevelOfCare.ICU)


def critical_outcome(case: Case, *, admission_counts: bool) -> bool | None:
    """True or False for a disposed case; None while the case is open (no outcome yet)."""
    if case.disposition is None:
        return None
    if case.disposition == Disposition.DECEASED or case.followup == FollowUp.DIED_WITHIN_30_DAYS:
        return True
    if case.disposition == Disposition.ADMIT:
        return admission_counts or case.level_of_care in CRITICAL_CARE
    return False
