"""Synthetic Chinese lab report pages with exact ground truth.

`render_report(seed, config)` draws a clean report page with Pillow (a panel: blood
count, liver, kidney, lipids + glucose, or blood pressure; one of several layouts and
fonts) and then, unless told not to, "photographs" it with OpenCV: a skew and mild
perspective warp onto a darker background, blur, sensor noise, an uneven brightness
gradient, and finally a rotation by 0/90/180/270 degrees. The same seed and config always
give the same pixels. `render_cbc_report` is the blood-count-only form.

Layouts, drawn from what Chinese hospital laboratory systems print:
- "classic":    No. | name | result | flag | unit | reference range
- "coded":      No. | name | code | result | flag | unit | reference range
- "inline":     name | result with the arrow attached ("12.3↑") | reference range | unit
- "two_column": two items side by side, each name | result | flag | unit | range

Values come from each indicator's distribution, with a share pushed outside the range so
H and L flags occur; `SynthConfig(values_csv=...)` takes patients' sex, age and white
cell counts from a CSV of real blood counts instead (columns: sex 0/1, age, WBC, ...;
../shared/data/labreport/bloodtest_values.csv has about 2,000).

Conventions in the ground truth:
- `rotation`: degrees *clockwise* the page was turned (0, 90, 180, 270); undoing it means
  turning the image the same number of degrees counter-clockwise.
- `skew_degrees`: the small in-plane angle, counter-clockwise positive (OpenCV's
  `getRotationMatrix2D` convention), applied before `rotation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.labreport.indicators import INDICATORS_BY_CODE, PANEL_TITLES, PANELS, Indicator

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# Other CJK fonts used when installed (fonts-noto-cjk); the page falls back to FONT_PATH.
EXTRA_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
LAYOUTS = ("classic", "coded", "inline", "two_column")
REPORT_PANELS = ("cbc", "liver", "kidney", "lipids_glucose", "bp")
PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi

_HOSPITALS = ("仁和", "协和", "华山", "同济", "中山", "人民", "第一人民", "中心")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
_DEPARTMENTS = ("内科门诊", "外科门诊", "急诊科", "儿科", "体检中心", "心内科", "消化内科")
_SAMPLES = {"cbc": "全血", "liver": "血清", "kidney": "血清", "lipids_glucose": "血清", "bp": "—"}
_TITLES = {"lipids_glucose": "血脂四项 + 血糖"}


@dataclass(frozen=True)
class PhotoConfig:
    """How strongly to degrade the clean page. Defaults are a mild phone photo."""

    rotations: tuple[int, ...] = (0, 90, 180, 270)
    max_skew_degrees: float = 5.0
    perspective: bool = True
    perspective_jitter: float = 0.03  # corner jitter as a share of the page's short side
    margin: float = 0.08  # background border as a share of the page's long side
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    noise_sd: tuple[float, float] = (2.0, 6.0)
    shadow_strength: tuple[float, float] = (0.0, 0.25)
    curl: float = 0.006  # largest bend of a row, as a share of the page height
    colour_cast: tuple[float, float] = (0.85, 1.05)  # per-channel gain
    jpeg_quality: tuple[int, int] | None = (55, 95)  # phones save JPEG; None keeps it lossless


@dataclass(frozen=True)
class SynthConfig:
    page_size: tuple[int, int] = PAGE_SIZE
    out_of_range_rate: float = 0.25
    photo: PhotoConfig | None = field(default_factory=PhotoConfig)
    rotation: int | None = None  # force a rotation instead of drawing one
    skew_degrees: float | None = None  # force a skew instead of drawing one
    panels: tuple[str, ...] = ("cbc",)  # drawn from these
    layouts: tuple[str, ...] = ("classic",)  # drawn from these
    fonts: tuple[Path, ...] = (FONT_PATH,)  # drawn from these (missing files are skipped)
    values_csv: str | None = None  # real blood counts to take sex, age and WBC from


VARIED = dict(panels=REPORT_PANELS, layouts=LAYOUTS, fonts=(FONT_PATH, *EXTRA_FONTS))


def _panel_indicators(panel: str) -> tuple[Indicator, ...]:
    if panel == "lipids_glucose":
        return (*PANELS["lipids"], *PANELS["glucose"])
    if panel == "bp":
        return PANELS["bp"]
    return PANELS[panel]


_real_rows_cache: dict[str, np.ndarray] = {}


def _real_patient(rng: np.random.Generator, path: str) -> tuple[str, int, float | None]:
    if path not in _real_rows_cache:
        _real_rows_cache[path] = np.loadtxt(path, delimiter=",", ndmin=2)
    rows = _real_rows_cache[path]
    row = rows[int(rng.integers(len(rows)))]
    return ("M" if row[0] == 1 else "F"), int(row[1]), float(row[2])


def _draw_value(rng: np.random.Generator, indicator: Indicator, low: float, high: float, rate: float) -> float:
    finite_high = high if np.isfinite(high) else low * 2
    if rng.random() < rate:
        span = finite_high - low
        if (rng.random() < 0.5 and low > 0) or not np.isfinite(high):
            value = low - rng.uniform(0.05, 0.4) * min(span, low)
        else:
            value = finite_high + rng.uniform(0.05, 0.4) * span
    else:
        value = rng.normal(indicator.mean, indicator.sd)
    value = max(value, 0.0)
    return round(float(value), indicator.decimals)


def _flag(value: float, low: float, high: float) -> str:
    if value > high:
        return "H"
    if value < low:
        return "L"
    return ""


def _range_text(rng: np.random.Generator, indicator: Indicator, low: float, high: float) -> str:
    fmt = f"{{:.{indicator.decimals}f}}"
    if not np.isfinite(high):
        return ">" + fmt.format(low)
    if low == 0 and indicator.panel == "lipids" and rng.random() < 0.7:
        return "<" + fmt.format(high)
    separator = str(rng.choice(["-", "-", "~", "--"]))
    return fmt.format(low) + separator + fmt.format(high)


def draw_items(rng: np.random.Generator, out_of_range_rate: float, panel: str = "cbc", sex: str | None = None,
               age: int | None = None, real_wbc: float | None = None) -> list[dict[str, Any]]:
    items = []
    for indicator in _panel_indicators(panel):
        reference = indicator.range_for(sex, age)
        low, high = reference.low, reference.high
        value = _draw_value(rng, indicator, low, high, out_of_range_rate)
        if indicator.code == "WBC" and real_wbc is not None:
            value = round(real_wbc, indicator.decimals)
        items.append(
            {
                "code": indicator.code,
                "name": indicator.name,
                "value": value,
                "value_text": f"{value:.{indicator.decimals}f}",
                "unit": indicator.unit,
                "range_low": low,
                "range_high": None if not np.isfinite(high) else high,
                "range_text": _range_text(rng, indicator, low, high),
                "flag": _flag(value, low, high),
            }
        )
    return items


def _pick_font(rng: np.random.Generator, fonts: tuple[Path, ...]) -> Path:
    available = [font for font in fonts if font.exists()] or [FONT_PATH]
    return available[int(rng.integers(len(available)))]


def render_page(rng: np.random.Generator, items: list[dict[str, Any]], page_size=PAGE_SIZE, *,
                layout: str = "classic", panel: str = "cbc", font_path: Path = FONT_PATH,
                sex: str | None = None, age: int | None = None) -> np.ndarray:
    """Draw the clean page (BGR uint8). Layout scales with the page width."""
    width, height = page_size
    s = width / PAGE_SIZE[0]
    page = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(page)

    def font(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(font_path), max(8, round(size * s)))

    ink = (20, 20, 20)
    left, right = round(70 * s), width - round(70 * s)

    title = f"{rng.choice(_HOSPITALS)}医院检验报告单"
    title_font = font(48)
    title_width = draw.textlength(title, font=title_font)
    draw.text(((width - title_width) / 2, 60 * s), title, font=title_font, fill=ink)
    subtitle = _TITLES.get(panel) or PANEL_TITLES[panel]
    sub_font = font(30)
    draw.text(((width - draw.textlength(subtitle, font=sub_font)) / 2, 130 * s), subtitle, font=sub_font, fill=ink)

    name = rng.choice(list(_SURNAMES)) + "".join(rng.choice(list(_GIVEN), size=int(rng.integers(1, 3))))
    sex_text = {"M": "男", "F": "女"}.get(sex or "", str(rng.choice(["男", "女"])))
    header = [
        (f"姓名：{name}", f"性别：{sex_text}", f"年龄：{age if age is not None else int(rng.integers(18, 90))}岁"),
        (
            f"科室：{rng.choice(_DEPARTMENTS)}",
            f"病历号：{int(rng.integers(10_000_000, 99_999_999))}",
            f"样本号：{int(rng.integers(1000, 9999))}",
        ),
        (f"样本类型：{_SAMPLES[panel]}", "送检医生：" + rng.choice(list(_SURNAMES)) + "医生",
         f"床号：{int(rng.integers(1, 60))}"),
    ]
    header_font = font(26)
    y = 200 * s
    for line in header:
        for column, text in enumerate(line):
            draw.text((left + column * 380 * s, y), text, font=header_font, fill=ink)
        y += 44 * s
    y += 10 * s
    draw.line((left, y, right, y), fill=ink, width=max(1, round(3 * s)))
    y += 14 * s

    arrow_of = {"H": "↑", "L": "↓", "": ""}
    letter_arrows = rng.random() < 0.25  # some systems print H / L instead of arrows
    if letter_arrows:
        arrow_of = {"H": "H", "L": "L", "": ""}

    def row_cells(index: int, item: dict[str, Any]) -> tuple[str, ...]:
        arrow = arrow_of[item["flag"]]
        if layout == "coded":
            return (str(index), item["name"], item["code"], item["value_text"], arrow, item["unit"], item["range_text"])
        if layout == "inline":
            return (item["name"], item["value_text"] + arrow, item["range_text"], item["unit"])
        if layout == "two_column":
            return (item["name"], item["value_text"], arrow, item["unit"], item["range_text"])
        return (str(index), item["name"], item["value_text"], arrow, item["unit"], item["range_text"])

    if layout == "coded":
        columns = [10, 80, 470, 600, 740, 810, 960]
        titles = ("序号", "项目名称", "代号", "结果", "提示", "单位", "参考区间")
    elif layout == "inline":
        columns = [10, 480, 680, 920]
        titles = ("检验项目", "结果", "参考范围", "单位")
    elif layout == "two_column":
        columns = [0, 232, 318, 342, 432]
        titles = ("项目", "结果", "", "单位", "参考值")
    else:
        columns = [10, 90, 520, 680, 760, 920]
        titles = ("序号", "项目名称", "结果", "标志", "单位", "参考范围")

    table_font = font(27 if layout != "two_column" else 19)
    half = (right - left) / 2
    blocks = [0.0, half + 10] if layout == "two_column" else [0.0]
    for block in blocks:
        for x, text in zip(columns, titles):
            draw.text((left + block + x * s, y), text, font=table_font, fill=ink)
    y += 46 * s
    draw.line((left, y, right, y), fill=ink, width=max(1, round(2 * s)))
    y += 12 * s

    row_height = (50 if layout != "two_column" else 44) * s
    per_row = len(blocks)
    for start in range(0, len(items), per_row):
        for block, item in zip(blocks, items[start:start + per_row]):
            for x, text in zip(columns, row_cells(start + 1, item)):
                draw.text((left + block + x * s, y), text, font=table_font, fill=ink)
        y += row_height
    draw.line((left, y + 4 * s, right, y + 4 * s), fill=ink, width=max(1, round(2 * s)))

    footer_font = font(24)
    y += 30 * s
    draw.text((left, y), "采集时间：2026-03-14 08:12    接收时间：2026-03-14 08:40", font=footer_font, fill=ink)
    y += 40 * s
    draw.text((left, y), "检验者：" + rng.choice(list(_SURNAMES)) + "某    审核者：" + rng.choice(list(_SURNAMES))
              + "某    报告时间：2026-03-14 10:05", font=footer_font, fill=ink)
    y += 40 * s
    draw.text((left, y), "本报告仅对所检测标本负责，如有疑问请在三日内与检验科联系。", font=footer_font, fill=ink)

    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def _rotate_quarter(image: np.ndarray, rotation: int) -> np.ndarray:
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return image if rotation == 0 else cv2.rotate(image, codes[rotation])


def photograph(
    rng: np.random.Generator, page: np.ndarray, photo: PhotoConfig, *, rotation: int, skew_degrees: float
) -> np.ndarray:
    height, width = page.shape[:2]
    background = np.array([rng.uniform(60, 130), rng.uniform(70, 140), rng.uniform(80, 150)])
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    centre = np.float32([width / 2, height / 2])
    angle = np.deg2rad(skew_degrees)
    # Image y points down, so a counter-clockwise turn on screen is this matrix.
    turn = np.float32([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    moved = (corners - centre) @ turn.T + centre
    if photo.perspective:
        jitter = photo.perspective_jitter * min(width, height)
        moved = moved + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
        margin = photo.margin * max(width, height)
        border_value = tuple(float(c) for c in background)
    else:
        margin = 0.0
        border_value = (255, 255, 255)
    if photo.perspective:
        moved = moved - moved.min(axis=0) + margin
        out_w = int(np.ceil(moved[:, 0].max() + margin))
        out_h = int(np.ceil(moved[:, 1].max() + margin))
    else:
        out_w, out_h = width, height
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    image = cv2.warpPerspective(
        page, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value
    ).astype(np.float32)

    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (xs / out_w - 0.5) * np.cos(direction) + (ys / out_h - 0.5) * np.sin(direction)
    strength = rng.uniform(*photo.shadow_strength)
    light = 1.0 - strength * (ramp + 0.5)
    image *= light[..., None]

    if photo.curl:
        # Paper that does not lie flat: rows bend by a slow sine across the page.
        amplitude = rng.uniform(0, photo.curl) * out_h
        phase = rng.uniform(0, 2 * np.pi)
        map_y = ys + amplitude * np.sin(np.pi * xs / out_w + phase)
        image = cv2.remap(image, xs, map_y.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    image *= rng.uniform(*photo.colour_cast, size=3).astype(np.float32)  # white balance off
    sigma = rng.uniform(*photo.blur_sigma)
    image = cv2.GaussianBlur(image, (0, 0), sigma)
    image += rng.normal(0, rng.uniform(*photo.noise_sd), size=image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if photo.jpeg_quality:
        quality = int(rng.integers(photo.jpeg_quality[0], photo.jpeg_quality[1] + 1))
        _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return _rotate_quarter(image, rotation)


def render_report(seed: int, config: SynthConfig | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (BGR uint8 image, ground truth) for one synthetic report."""
    config = config or SynthConfig()
    rng = np.random.default_rng(seed)
    panel = str(rng.choice(config.panels))
    layout = str(rng.choice(config.layouts))
    font_path = _pick_font(rng, config.fonts)
    real_wbc = None
    if config.values_csv:
        sex, age, real_wbc = _real_patient(rng, config.values_csv)
    else:
        sex, age = str(rng.choice(["M", "F"])), int(rng.integers(18, 90))
    items = draw_items(rng, config.out_of_range_rate, panel, sex=sex, age=age, real_wbc=real_wbc)
    page = render_page(rng, items, config.page_size, layout=layout, panel=panel, font_path=font_path,
                       sex=sex, age=age)
    rotation, skew = 0, 0.0
    photo = config.photo
    if photo is not None:
        rotation = int(rng.choice(photo.rotations))
        skew = float(rng.uniform(-photo.max_skew_degrees, photo.max_skew_degrees))
    if config.rotation is not None:
        rotation = config.rotation
    if config.skew_degrees is not None:
        skew = config.skew_degrees
    if photo is not None:
        image = photograph(rng, page, photo, rotation=rotation, skew_degrees=skew)
    else:
        image = _rotate_quarter(page, rotation)
        if skew:
            raise ValueError("skew needs a PhotoConfig; pass photo=PhotoConfig(perspective=False, ...)")
    truth = {
        "items": [
            {key: item[key] for key in ("code", "name", "value", "unit", "range_low", "range_high", "flag")}
            for item in items
        ],
        "rotation": rotation,
        "skew_degrees": skew,
        "panel": panel,
        "layout": layout,
        "font": font_path.name,
        "sex": sex,
        "age": age,
    }
    return image, truth


def render_cbc_report(seed: int, config: SynthConfig | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """A blood-count report (whatever panels the config names, it draws "cbc")."""
    config = config or SynthConfig()
    return render_report(seed, SynthConfig(**{**config.__dict__, "panels": ("cbc",)}))
