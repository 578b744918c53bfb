"""Time saved so far: what the model's proposals saved the project's people, from the action log.

Read from the append-only AnnotationEvent trail (labeling/models.py), so it is what people really
did, not what the model could have done. Costed with the published action costs that the effort
benchmark (bench/effort.py) and the thresholds (ml/validation.py) use:

- a proposal a person accepted as it was would have cost drawing it by hand (choose a tag 3.0 s,
  a box 7 s by extreme clicking, a polygon or mask 79 s) and cost a check (1.6 s) instead;
- one they edited (class or shape changed, which accepts it) cost an edit (2.2 s) instead;
- one they rejected cost a rejection (1.0 s) and saved nothing.

saved = what the accepted and edited proposals would have cost by hand
        - what checking, editing and rejecting the proposals cost.

Each proposal counts once, by the last decision a person took on it (an accept undone and then
rejected is a rejection). Labels people drew themselves (origin human: the workspace, the camera)
are counted to give the assisted ÷ manual ratio; imported labels (COCO) are neither.
Two aggregate queries whatever the project's size (tests/mlassist/test_time_saved.py counts them).
"""

from __future__ import annotations

from django.db.models import Count, Max
from django.db.models.fields.json import KT

from labeling.models import AnnotationEvent, Project

from .ml.validation import COST

# Seconds to make one label of each annotation kind by hand, and to judge a proposal.
DRAW = {"tag": COST["tag"], "box": COST["box"], "polygon": COST["mask"], "mask": COST["mask"]}
CHECK, EDIT, REJECT = COST["check"], COST["edit"], COST["reject"]
KINDS = ("tag", "box", "polygon", "mask")

METHOD = (
    "From the project's action log. Each proposal a person accepted would have cost drawing it by hand "
    "(choose a tag {tag:g} s, draw a box {box:g} s by extreme clicking, a polygon or mask {mask:g} s) and cost a "
    "check ({check:g} s) instead, or an edit ({edit:g} s) when they changed it; each rejected proposal cost "
    "{reject:g} s. Saved = what the accepted and edited proposals would have cost by hand minus what checking, "
    "editing and rejecting the proposals cost."
).format(tag=DRAW["tag"], box=DRAW["box"], mask=DRAW["mask"], check=CHECK, edit=EDIT, reject=REJECT)


def _decisions(project: Project) -> dict[tuple[str, str], int]:
    """(kind, outcome) -> proposals, outcome being accepted, edited or rejected (one query)."""
    judged = AnnotationEvent.objects.filter(
        project=project, before__origin="model", before__state="proposed",
        after__state__in=["accepted", "rejected"], action__in=["state", "update"],
    )
    last = judged.values("annotation_id").annotate(last=Max("id")).values("last")
    rows = (
        AnnotationEvent.objects.filter(pk__in=last)
        .annotate(kind=KT("after__kind"), outcome=KT("after__state"))
        .values("kind", "outcome", "action").annotate(n=Count("id")).order_by()
    )
    out: dict[tuple[str, str], int] = {}
    for row in rows:
        outcome = "edited" if row["outcome"] == "accepted" and row["action"] == "update" else row["outcome"]
        out[(row["kind"], outcome)] = out.get((row["kind"], outcome), 0) + row["n"]
    return out


def _drawn(project: Project) -> dict[str, int]:
    """kind -> labels people made themselves (one query)."""
    rows = (
        AnnotationEvent.objects.filter(project=project, action="create", after__origin="human")
        .annotate(kind=KT("after__kind")).values("kind").annotate(n=Count("id")).order_by()
    )
    return {row["kind"]: row["n"] for row in rows}


def time_saved(*, project: Project) -> dict:
    """Seconds the model's proposals saved, per kind and in all, with the counts and costs behind them."""
    decisions, drawn = _decisions(project), _drawn(project)
    by_kind, totals = [], {"accepted": 0, "edited": 0, "rejected": 0, "drawn": 0}
    saved = assisted = manual = 0.0
    for kind in KINDS:
        accepted, edited = decisions.get((kind, "accepted"), 0), decisions.get((kind, "edited"), 0)
        rejected, made = decisions.get((kind, "rejected"), 0), drawn.get(kind, 0)
        if not (accepted or edited or rejected or made):
            continue
        kind_manual = (made + accepted + edited) * DRAW[kind]
        kind_assisted = made * DRAW[kind] + accepted * CHECK + edited * EDIT + rejected * REJECT
        by_kind.append({"kind": kind, "accepted": accepted, "edited": edited, "rejected": rejected, "drawn": made,
                        "saved_seconds": round(kind_manual - kind_assisted, 1)})
        for key, n in (("accepted", accepted), ("edited", edited), ("rejected", rejected), ("drawn", made)):
            totals[key] += n
        saved += kind_manual - kind_assisted
        assisted += kind_assisted
        manual += kind_manual
    return {
        "saved_seconds": round(saved, 1),
        "assisted_seconds": round(assisted, 1),
        "manual_seconds": round(manual, 1),
        "ratio": round(assisted / manual, 3) if manual else None,
        **totals,
        "by_kind": by_kind,
        "costs": {"draw": DRAW, "check": CHECK, "edit": EDIT, "reject": REJECT},
        "method": METHOD,
    }
