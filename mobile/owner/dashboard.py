"""The KPI dashboard: the figures, six charts (flet-charts), the average spend by tier, and each
staff member's figures for the period with the unusual ones flagged."""

from __future__ import annotations

import flet as ft
import flet_charts as fch

from mobile.app import App
from mobile.owner import models as om
from mobile.owner.state import Dashboard
from mobile.widgets import BRAND, heading, tagged

CHARTS = ("revenue", "visits", "member_revenue_share", "redemptions", "new_members", "nps")
BARS = ("revenue", "visits", "redemptions", "new_members")


def figure(key: str, label: str, value: str, caption: str | None = None) -> ft.Control:
    """One figure on the dashboard: what it is, the value large, and maybe a line under it."""
    lines = [
        ft.Text(label, size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Text(value, size=26, weight=ft.FontWeight.BOLD),
    ]
    if caption:
        lines.append(ft.Text(caption, size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    return tagged(
        key,
        ft.Container(
            ft.Column(lines, spacing=2),
            padding=12,
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            col={"xs": 6, "sm": 4, "md": 3, "lg": 2},
        ),
        label=", ".join([f"{label}: {value}", *([caption] if caption else [])]),
    )


def chart(s: om.Series, color: str, no_data: str) -> ft.Control:
    step = max(1, len(s.labels) // 6)
    axis = fch.ChartAxis(
        labels=[fch.ChartAxisLabel(value=x, label=ft.Text(s.labels[x], size=10)) for x, _ in s.points if x % step == 0],
        label_size=24,
    )
    if s.metric in BARS:
        body: ft.Control = fch.BarChart(
            groups=[
                fch.BarChartGroup(x=x, rods=[fch.BarChartRod(to_y=y, color=color, width=10, tooltip=f"{y:g}")])
                for x, y in s.points
            ],
            bottom_axis=axis,
            left_axis=fch.ChartAxis(label_size=44),
            max_y=s.max_y,
            expand=True,
        )
    else:
        body = fch.LineChart(
            data_series=[fch.LineChartData(points=[fch.LineChartDataPoint(x, y) for x, y in s.points], color=color)],
            bottom_axis=axis,
            left_axis=fch.ChartAxis(label_size=44),
            min_y=-100 if s.metric == "nps" else 0,
            max_y=100,
            expand=True,
        )
    return tagged(
        f"chart-{s.metric}",
        ft.Container(
            ft.Column(
                [
                    ft.Text(s.title, weight=ft.FontWeight.W_600),
                    ft.Container(body if s.points else ft.Text(no_data), height=180),
                ]
            ),
            padding=12,
            border_radius=12,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        ),
        label=s.title,
    )


class DashboardSection:
    def __init__(self, app: App, state: Dashboard, tools):
        self.app, self.state, self.tools = app, state, tools

    def body(self) -> list[ft.Control]:
        app, tools, lang = self.app, self.tools, self.app.lang
        board = self.state.load(app.clock(), tools.tz)
        kpis = board["kpis"]
        periods = tagged(
            "period",
            ft.SegmentedButton(
                selected=[str(self.state.period_days)],
                segments=[ft.Segment(value=k, label=ft.Text(app.tr("last_days", n=v))) for k, v in om.PERIODS.items()],
                on_change=lambda e: self.set_period(int(list(e.control.selected)[0])),
            ),
            label=app.tr("period"),
        )
        tiles = [figure(f"kpi-{t.key}", t.label, t.value) for t in om.kpi_tiles(kpis, lang, tools.currency)]
        color = tools.place.get("color") or BRAND
        charts = [
            ft.Container(
                chart(om.series(m, board["series"].get(m) or [], self.state.bucket, lang), color, app.tr("no_data")),
                col={"xs": 12, "md": 6},
            )
            for m in CHARTS
        ]
        by_tier = om.spend_by_tier(kpis, lang, tools.currency)
        return [
            periods,
            ft.ResponsiveRow(tiles, spacing=8, run_spacing=8),
            ft.ResponsiveRow(charts, spacing=16, run_spacing=16),
            heading(app.tr("spend_by_tier")),
            ft.ResponsiveRow(
                [figure(f"tier-{row.tier}", row.tier, row.average, row.purchases) for row in by_tier],
                spacing=8,
                run_spacing=8,
            )
            if by_tier
            else ft.Text(app.tr("no_data")),
            heading(app.tr("staff_figures")),
            *self.staff_section(board),
        ]

    def staff_section(self, board: dict) -> list[ft.Control]:
        """Each staff member's figures for the period, the unusual ones flagged."""
        app = self.app
        rows = om.staff_rows(board.get("staff"), app.lang)
        if not rows:
            return [ft.Text(app.tr("no_staff_activity"))]
        cards = []
        for row in rows:
            lines: list[ft.Control] = [
                ft.Text(row.name, weight=ft.FontWeight.W_600),
                ft.Text(" · ".join(f"{label}: {value}" for label, value in row.figures), size=13),
            ]
            if row.unusual:
                lines.append(
                    tagged(
                        f"staff-flag-{row.key}",
                        ft.Row(
                            [
                                ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ERROR, size=16),
                                ft.Text(row.unusual, size=13, color=ft.Colors.ERROR),
                            ]
                        ),
                        label=row.unusual,
                    )
                )
            label = ", ".join(
                [row.name, *(f"{k}: {v}" for k, v in row.figures), *([row.unusual] if row.unusual else [])]
            )
            cards.append(
                tagged(
                    f"staff-{row.key}",
                    ft.Container(
                        ft.Column(lines, spacing=4),
                        padding=12,
                        border_radius=12,
                        border=ft.Border.all(
                            2 if row.unusual else 1, ft.Colors.ERROR if row.unusual else ft.Colors.OUTLINE_VARIANT
                        ),
                        col={"xs": 12, "md": 6},
                    ),
                    label=label,
                )
            )
        return [ft.ResponsiveRow(cards, spacing=8, run_spacing=8)]

    def set_period(self, days: int) -> None:
        self.state.period_days = days
        self.tools.show("dashboard")
