from tests.factories import PASSWORD, member_of
from apps.tenancy.roles import Role

def test_smoke(client, hospital_a, hospital_b):
    u = member_of(hospital_a, Role.HOSPITAL_ADMIN)
    from apps.tenancy.models import Membership
    Membership.objects.create(user=u, hospital=hospital_b, role=Role.DOCTOR)
    r = client.post("/login/", {"username": u.username, "password": PASSWORD}, follow=True)
    print(r.content.decode())
    r = client.get("/dashboard/figures/")
    print(r.status_code, r.content.decode())
