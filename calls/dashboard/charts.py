"""The dashboard's chart geometry: SVG coordinates the template draws as they are."""
import math
from dataclasses import dataclass

from django.utils.dates import WEEKDAYS_ABBR

from calls.dashboard.figures import DayFigures


@dataclass(frozen=True)
class Bar:
    """One day's stacked bar; y grows downwards as in SVG."""

    figures: DayFigures
    x: float
    width: float
    segments: list[tuple[str, float, float]]  # (kind, y, height), bottom segment first
    label: bool  # whether the day gets a label under the axis


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    left: int
    top: int
    bottom: int  # y of the x axis
    right: int
    bars: list[Bar]
    ticks: list[Tick]


STACK = ("incoming", "outgoing", "missed")  # bottom to top


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at least `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def daily_chart(
    days: list[DayFigures], *, width: int = 900, height: int = 260, labels: int = 10
) -> DailyChart:
    """Stacked bars (incoming, outgoing, missed) of each day, with y ticks and a few labels."""
    left, right, top, bottom = 48, width - 8, 12, height - 28
    top_value = nice_ceiling(max((day.total for day in days), default=0))
    scale = (bottom - top) / top_value
    slot = (right - left) / max(len(days), 1)
    every = max(1, math.ceil(len(days) / labels))
    bars = []
    for index, day in enumerate(days):
        y = float(bottom)
        segments = []
        for kind in STACK:
            size = getattr(day, kind) * scale
            if size:
                y -= size
                segments.append((kind, round(y, 2), round(size, 2)))
        bars.append(Bar(
            figures=day,
            x=round(left + index * slot + slot * 0.1, 2),
            width=round(max(slot * 0.8, 0.5), 2),
            segments=segments,
            label=(len(days) - 1 - index) % every == 0,
        ))
    ticks = [
        Tick(value=value, y=round(bottom - value * scale, 2))
        for value in sorted({0, top_value // 2, top_value})
    ]
    return DailyChart(
        width=width, height=height, left=left, top=top, bottom=bottom, right=right,
        bars=bars, ticks=ticks,
    )


@dataclass(frozen=True)
class HeatCell:
    hour: int
    x: int
    calls: int
    level: int  # 0 (none) to 5 (the busiest)


@dataclass(frozen=True)
class HeatRow:
    label: str  # the weekday's short name, in the active language
    y: int
    cells: list[HeatCell]


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    left: int
    top: int
    cell_width: int
    cell_height: int
    rows: list[HeatRow]
    hours: list[tuple[int, int]]  # (hour, x of its label)


def heat_map(
    hours: list[list[int]], *, levels: int = 5, cell_width: int = 34, cell_height: int = 24
) -> HeatMap:
    """The weekday × hour grid with each cell's shade, relative to the busiest hour."""
    left, top = 40, 18
    busiest = max((calls for row in hours for calls in row), default=0)
    rows = [
        HeatRow(
            label=WEEKDAYS_ABBR[weekday],
            y=top + weekday * cell_height,
            cells=[
                HeatCell(
                    hour=hour, x=left + hour * cell_width, calls=calls,
                    level=math.ceil(levels * calls / busiest) if calls else 0,
                )
                for hour, calls in enumerate(row)
            ],
        )
        for weekday, row in enumerate(hours)
    ]
    return HeatMap(
        width=left + 24 * cell_width + 2, height=top + 7 * cell_height + 2, left=left, top=top,
        cell_width=cell_width, cell_height=cell_height, rows=rows,
        hours=[(hour, left + hour * cell_width + cell_width // 2) for hour in range(24)],
    )
