"""Listening to the patients app (it sends the signal after commit)."""

from .tasks import encounter_structure_task


def structure_recorded_encounter(sender, *, encounter_id: int, hospital_id: int, **kwargs) -> None:
    encounter_structure_task.delay(encounter_id=encounter_id, hospital_id=hospital_id)
