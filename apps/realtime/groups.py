"""Channel-layer group names. Clients never choose groups: the consumer derives
them from who authenticated."""


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def staff_group(hospital_id: int, role: str) -> str:
    return f"hospital.{hospital_id}.role.{role}"


# Platform administrators, whichever hospital they connected at (monitoring alerts).
PLATFORM_ADMINS_GROUP = "platform.admins"
