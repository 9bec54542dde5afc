"""What the partners app does when other apps announce something."""


from django.db import transaction

from apps.compliance.models import ConsentPurpose

from .models import OutboundShare, ShareDecision



def decide_on_prediction_indexes(sender, *, case, **kwargs) -> None:
    """Step 7 after step 6: decide once the registry's write of both indexes has
    committed, in the case's hospital. A failure here is logged and never undoes
    the registry's write; staff can ask for the decision again (API, web admin)."""
    from apps.tenancy.context import hospital_scope

    from .services import rare_case_share_decide

    hospital_id, case_id = case.hospital_id, case.pk

    def decide():
        with hospital_scope(hospital_id):
            rare_case_share_decide(case_id=case_id, trigger=ShareDecision.Trigger.INDEXES_READY)

    transaction.on_commit(decide, robust=True)


def update_shares_on_case_refreshed(sender, *, case, **kwargs) -> None:
    """After step 8 refreshed a case: partners holding a delivered share of it get the
    next version when what it carries changed. After commit, in the case's hospital;
    a failure is logged and never undoes the refresh."""
    from apps.tenancy.context import hospital_scope

    from .services import rare_case_share_update

    hospital_id, case_id = case.hospital_id, case.pk
    if not OutboundShare.objects.filter(case_id=case_id, status=OutboundShare.Status.DELIVERED).exists():
        return  # never reached a partner: nothing to update (most refreshed cases)

    def update():
        with hospital_scope(hospital_id):
            rare_case_share_update(case_id=case_id)

    transaction.on_commit(update, robust=True)


def cancel_shares_on_consent_withdrawn(sender, *, hospital_id: int, patient_id: int, purpose: str, **kwargs) -> None:
    if purpose != ConsentPurpose.PARTNER_SHARING:
        return
    from .services import shares_cancel_for_patient

    shares_cancel_for_patient(hospital_id=hospital_id, patient_id=patient_id, reason="consent_withdrawn")
