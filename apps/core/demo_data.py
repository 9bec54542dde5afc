"""Deterministic demo people: Chinese names, valid-format national ID numbers
(GB 11643 check digit) and mobile numbers. For demo data and tests only."""

import datetime
import random

from apps.patients.validators import national_id_check_digit  # noqa: F401 - re-exported for tests

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
               "华", "建国", "志强", "海燕", "晓东", "雪梅"]


def demo_person(rng: random.Random) -> dict:
    sex = rng.choice("MF")
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 80))
    sequence = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)  # odd: male, even: female
    first17 = f"110101{birth:%Y%m%d}{sequence:03d}"
    return {
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
        "sex": sex,
        "birth_date": birth,
        "national_id": first17 + national_id_check_digit(first17),
        "phone": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
    }


# Demo experts per hospital: (name, title, department code, specialties, introduction).
DEMO_EXPERTS = [
    ("王建国", "chief", "IM", "高血压, 冠心病, 心力衰竭", "从事心血管内科临床工作三十年。"),
    ("李秀英", "associate_chief", "IM", "糖尿病, 甲状腺疾病, 骨质疏松", "擅长内分泌代谢疾病的诊治。"),
    ("张伟", "attending", "IM", "慢性胃炎, 消化道出血", ""),
    ("陈静", "chief", "RAD", "胸部影像, 肺结节", "肺结节影像诊断。"),
    ("刘洋", "attending", "LAB", "血常规解读, 贫血", ""),
]
