from io import StringIO

from django.core.management import call_command

from apps.booking.models import Expert, Schedule, Slot


def test_seed_gives_each_demo_hospital_bookable_experts_once(db, api_client):
    call_command("seed_demo", stdout=StringIO())
    counts = (Expert.unscoped_objects.count(), Schedule.unscoped_objects.count(), Slot.unscoped_objects.count())
    assert counts[0] == 10 and counts[1] > 0 and counts[2] == counts[1] * 8
    # the public catalogue shows them, with slots
    experts = api_client.get("/api/v1/booking/experts/", {"q": "糖尿病"}).json()["results"]
    assert {row["hospital"]["slug"] for row in experts} == {"demo-a", "demo-b"}
    slots = api_client.get(f"/api/v1/booking/experts/{experts[0]['id']}/slots/").json()["results"]
    assert slots and slots[0]["remaining"] == 5
    # running it again adds nothing
    call_command("seed_demo", stdout=StringIO())
    assert (Expert.unscoped_objects.count(), Schedule.unscoped_objects.count(),
            Slot.unscoped_objects.count()) == counts
