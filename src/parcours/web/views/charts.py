"""Vega-Lite specifications of the dashboards' charts (what to draw; the figures come from
the report untouched). ``static/parcours.js`` draws them with vega-embed, in the page's
language; every chart also has its data as a table beside it."""

from __future__ import annotations

from typing import Any

BLUE, GREEN, RED, GREY = "#1f6feb", "#2e8b57", "#c0392b", "#5b6577"
_MONTH = {"field": "month", "type": "temporal", "timeUnit": "utcyearmonth", "scale": {"type": "utc"},
          "axis": {"format": "%b %Y", "labelAngle": -40}}


def _chart(description: str, values: list[dict[str, Any]], height: int = 220, **spec: Any) -> dict[str, Any]:
    return {"description": description, "width": "container", "height": height,
            "autosize": {"type": "fit", "contains": "padding"}, "data": {"values": values},
            "config": {"font": "system-ui, sans-serif", "axis": {"labelColor": GREY, "titleColor": "#1d2433"}},
            **spec}


def trend(description: str, values: list[dict[str, Any]], *, y_title: str, month_title: str,
          color: str = BLUE) -> dict[str, Any]:
    """A score per month (rows: month as YYYY-MM-01, score, n, small_n, and low/high of its
    95 % interval when known): a line, with the interval as a band."""
    x = dict(_MONTH, title=month_title)
    tooltip = [{"field": "month", "type": "temporal", "timeUnit": "utcyearmonth", "title": month_title},
               {"field": "score", "type": "quantitative", "format": ".1f", "title": y_title},
               {"field": "n", "type": "quantitative", "title": "n"}]
    layers: list[dict[str, Any]] = []
    if any(r.get("low") is not None for r in values):
        tooltip += [{"field": "low", "type": "quantitative", "format": ".1f", "title": "95 % low"},
                    {"field": "high", "type": "quantitative", "format": ".1f", "title": "95 % high"}]
        layers.append({"mark": {"type": "area", "opacity": 0.18, "color": color},
                       "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": y_title},
                                    "y2": {"field": "high"}}})
    y = {"field": "score", "type": "quantitative", "title": y_title, "scale": {"zero": False}}
    layers.append({"mark": {"type": "line", "color": color}, "encoding": {"x": x, "y": y}})
    # a hollow point marks a month with few answers
    layers.append({"mark": {"type": "point", "size": 60, "color": color, "strokeWidth": 2},
                   "encoding": {"x": x, "y": y, "tooltip": tooltip,
                                "fill": {"condition": {"test": "datum.small_n", "value": "white"}, "value": color}}})
    return _chart(description, values, layer=layers)


def stacked_counts(description: str, values: list[dict[str, Any]], *, month_title: str,
                   n_title: str, series_title: str) -> dict[str, Any]:
    """Counts per month and series (rows: month, series, n) as stacked bars."""
    return _chart(description, values, mark={"type": "bar", "tooltip": True},
                  encoding={"x": dict(_MONTH, title=month_title),
                            "y": {"field": "n", "type": "quantitative", "title": n_title, "stack": True},
                            "color": {"field": "series", "type": "nominal", "title": series_title,
                                      "scale": {"range": [BLUE, GREEN, "#b8860b", GREY]}},
                            "tooltip": [{"field": "series", "title": series_title},
                                        {"field": "n", "type": "quantitative", "title": n_title}]})


def bars_ci(description: str, values: list[dict[str, Any]], *, cat: str, cat_title: str, value: str,
            value_title: str, low: str | None = None, high: str | None = None, color: str = BLUE,
            sort: Any = None, domain: list[float] | None = None) -> dict[str, Any]:
    """One horizontal bar per category, with its 95 % interval as a rule when given
    (``sort="descending"``: the largest value first; None: the rows' order)."""
    if sort == "descending":  # the layers share one order: the rows' own
        values, sort = sorted(values, key=lambda r: -(r.get(value) or 0)), None
    y = {"field": cat, "type": "nominal", "title": cat_title, "sort": sort}
    xscale = {"domain": domain} if domain else {}
    tooltip = [{"field": cat, "title": cat_title}, {"field": value, "type": "quantitative", "format": ".1f",
                                                     "title": value_title}]
    if "n" in (values[0] if values else {}):
        tooltip.append({"field": "n", "type": "quantitative", "title": "n"})
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "bar", "color": color, "opacity": 0.85},
         "encoding": {"y": y, "x": {"field": value, "type": "quantitative", "title": value_title,
                                    "scale": xscale},
                      "tooltip": tooltip}}]
    if low and high:
        layers.append({"mark": {"type": "rule", "color": "#1d2433", "strokeWidth": 2},
                       "encoding": {"y": y, "x": {"field": low, "type": "quantitative"}, "x2": {"field": high}}})
    return _chart(description, values, height=max(120, 28 * len(values)), layer=layers)


def heatmap(description: str, values: list[dict[str, Any]], *, x: str, x_title: str, y: str, y_title: str,
            value: str, value_title: str, x_sort: Any = None, y_sort: Any = None, ordinal_x: bool = False,
            scheme: str = "blues") -> dict[str, Any]:
    """A matrix of shares (rows: x, y, value) as coloured cells with their value written in."""
    enc_x = {"field": x, "type": "ordinal" if ordinal_x else "nominal", "title": x_title, "sort": x_sort,
             "axis": {"labelAngle": 0 if ordinal_x else -40}}
    enc_y = {"field": y, "type": "nominal", "title": y_title, "sort": y_sort}
    return _chart(description, values, height=max(160, 30 * len({v[y] for v in values})), layer=[
        {"mark": {"type": "rect", "tooltip": True},
         "encoding": {"x": enc_x, "y": enc_y,
                      "color": {"field": value, "type": "quantitative", "title": value_title,
                                "scale": {"scheme": scheme, "domain": [0, 100]}}}},
        {"mark": {"type": "text", "fontSize": 10},
         "encoding": {"x": enc_x, "y": enc_y, "text": {"field": value, "type": "quantitative", "format": ".0f"},
                      "color": {"condition": {"test": f"datum['{value}'] > 55", "value": "white"},
                                "value": "#1d2433"}}}])


def reliability(description: str, values: list[dict[str, Any]], *, predicted_title: str,
                observed_title: str) -> dict[str, Any]:
    """A calibration plot (rows: predicted, observed, n per bin): points against the diagonal a
    calibrated model follows; the points' size is the bin's n."""
    diagonal = {"data": {"values": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]},
                "mark": {"type": "line", "color": GREY, "strokeDash": [4, 4]},
                "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}
    axis = {"type": "quantitative", "scale": {"domain": [0, 1]}, "axis": {"format": "%"}}
    points = {"mark": {"type": "point", "filled": True, "color": BLUE, "tooltip": True},
              "encoding": {"x": {"field": "predicted", "title": predicted_title, **axis},
                           "y": {"field": "observed", "title": observed_title, **axis},
                           "size": {"field": "n", "type": "quantitative", "legend": None}}}
    return _chart(description, values, height=260, layer=[diagonal, points])
