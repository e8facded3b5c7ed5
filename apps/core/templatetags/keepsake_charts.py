"""``{% year_heatmap %}`` and ``{% grouped_bars %}``: chart geometry for the templates.

{% load keepsake_charts %}
{% year_heatmap progress.days as hm %}              a core.charts.Heatmap
{% grouped_bars chart.groups series=2 as drawn %}   a core.charts.BarChart
"""

from __future__ import annotations

from django import template

from apps.core import charts

register = template.Library()


@register.simple_tag
def year_heatmap(days: charts.DayCounts) -> charts.Heatmap:
    return charts.year_heatmap(days)


@register.simple_tag
def grouped_bars(groups, series: int) -> charts.BarChart:
    return charts.grouped_bars(groups, series=series)
